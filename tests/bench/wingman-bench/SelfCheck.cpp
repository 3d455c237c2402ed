#include "SelfCheck.h"

#include "BatchEncoder.h"
#include "MsgReader.h"
#include "Options.h"
#include "protocol/Wire.h"

#include <QCborArray>
#include <QCborMap>

#include <algorithm>

namespace wingman::bench {

using wingman::wire::MsgPackCodec;

QString selfCheck(const Options &options)
{
    // The run's batch size (bounded, to stay quick) exercises the same header forms as the run.
    const int size = std::clamp(options.batch, 3, 1000);
    BatchEncoder encoder(0, options.mapName, size);
    const QByteArray encoded = encoder.encode(1);
    const auto decoded = wire::MsgPackCodec::decode(encoded);
    if (!decoded.ok)
        return QStringLiteral("MsgPackCodec rejects an encoded OP_BATCH at '%1': %2")
            .arg(decoded.error.field, decoded.error.reason);
    const QCborMap batch = decoded.value.toMap();
    const QCborArray ops
        = batch.value(QStringLiteral("payload")).toMap().value(QStringLiteral("ops")).toArray();
    const QCborMap op = ops.at(size - 1).toMap();
    const QCborMap timestamp
        = op.value(QStringLiteral("record")).toMap().value(QStringLiteral("timestamp")).toMap();
    if (batch.value(QStringLiteral("type")).toString() != QLatin1String("OP_BATCH")
        || ops.size() != size || op.value(QStringLiteral("id")).toString() != QString::number(size)
        || op.value(QStringLiteral("key")).toString() != QStringLiteral("c0-%1").arg(size)
        || op.value(QStringLiteral("mapName")).toString() != options.mapName
        || !timestamp.value(QStringLiteral("millis")).isDouble()
        || timestamp.value(QStringLiteral("counter")).toInteger() != size)
        return QStringLiteral("an encoded OP_BATCH decodes as %1")
            .arg(decoded.value.toDiagnosticNotation().left(600));

    const QCborMap ack { { QStringLiteral("type"), QStringLiteral("OP_ACK") },
        { QStringLiteral("payload"),
            QCborMap { { QStringLiteral("lastId"), QStringLiteral("4294967298") },
                { QStringLiteral("results"),
                    QCborArray { QCborMap { { QStringLiteral("opId"), QStringLiteral("1") },
                        { QStringLiteral("success"), false } } } } } } };
    const QByteArray ackBytes = wire::MsgPackCodec::encode(ack);
    const auto envelope
        = scanEnvelope(std::string_view(ackBytes.constData(), size_t(ackBytes.size())));
    if (!envelope || envelope->type != "OP_ACK" || failedResults(envelope->payload) != 1)
        return QStringLiteral("an encoded OP_ACK does not scan as written");
    const auto lastId = findField(envelope->payload, "lastId");
    if (!lastId || opId(*lastId) != 4294967298ULL)
        return QStringLiteral("an encoded OP_ACK's lastId does not scan as written");

    // A SERVER_BATCH_EVENT's event as the server writes it: the lag reads key and millis.
    const QCborMap event { { QStringLiteral("mapName"), options.mapName },
        { QStringLiteral("eventType"), QStringLiteral("PUT") },
        { QStringLiteral("key"), QStringLiteral("c12-345") },
        { QStringLiteral("record"),
            QCborMap { { QStringLiteral("value"), QCborMap { { QStringLiteral("n"), 345 } } },
                { QStringLiteral("timestamp"),
                    QCborMap { { QStringLiteral("millis"), 1765000000123.0 },
                        { QStringLiteral("counter"), 7 },
                        { QStringLiteral("nodeId"), QStringLiteral("bench-12") } } } } } };
    const QByteArray eventBytes = wire::MsgPackCodec::encode(event);
    const auto stamp
        = eventStamp(std::string_view(eventBytes.constData(), size_t(eventBytes.size())));
    if (!stamp || stamp->connection != 12 || stamp->millis != 1765000000123ULL)
        return QStringLiteral("an encoded SERVER_EVENT's key and millis do not scan as written");
    return {};
}

} // namespace wingman::bench

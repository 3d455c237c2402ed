// Codec throughput on the server's hot path: an OP_BATCH of 100 LWW PUTs as the TopGun client
// sends it (float64 millis, small map values), through the raw MessagePack codec and through the
// typed-message layer, each way.

#include "protocol/Frame.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QTextStream>

#include <functional>

#include <time.h>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;

namespace {

constexpr int kOpsPerBatch = 100;
constexpr qint64 kRunMs = 1500;

// Built as a map so that millis are float64, exactly what msgpackr sends.
QCborMap clientOpBatch()
{
    QCborArray ops;
    for (int i = 0; i < kOpsPerBatch; ++i) {
        QCborMap timestamp;
        timestamp.insert("millis"_L1, 1700000000000.0 + i);
        timestamp.insert("counter"_L1, i % 3);
        timestamp.insert("nodeId"_L1, "client-7f3a9c21"_L1);
        QCborMap value;
        value.insert("title"_L1, QStringLiteral("Buy groceries for the week #%1").arg(i));
        value.insert("done"_L1, i % 2 == 0);
        value.insert("priority"_L1, i % 5);
        value.insert("tags"_L1, QCborArray { "home"_L1, "errand"_L1 });
        QCborMap record;
        record.insert("value"_L1, value);
        record.insert("timestamp"_L1, timestamp);
        QCborMap op;
        op.insert("id"_L1, QString::number(1000 + i));
        op.insert("mapName"_L1, "todos"_L1);
        op.insert("key"_L1, QStringLiteral("todo:3f2c9a7e-%1").arg(i, 4, 10, QLatin1Char('0')));
        op.insert("opType"_L1, "PUT"_L1);
        op.insert("record"_L1, record);
        ops.append(op);
    }
    QCborMap payload;
    payload.insert("ops"_L1, ops);
    QCborMap message;
    message.insert("type"_L1, "OP_BATCH"_L1);
    message.insert("payload"_L1, payload);
    return message;
}

struct Result {
    qint64 iterations = 0;
    qint64 wallNs = 0;
    qint64 cpuNs = 0;
};

// This thread's CPU time: rates stay meaningful on a machine shared with other work.
qint64 threadCpuNs()
{
    timespec now {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return qint64(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Repeats `run` for about kRunMs; `run` returns a number folded into a sink so that nothing is
// optimised away.
Result measure(const std::function<qsizetype()> &run, qsizetype &sink)
{
    for (int i = 0; i < 50; ++i)
        sink += run();
    Result result;
    QElapsedTimer timer;
    timer.start();
    const qint64 cpuStart = threadCpuNs();
    while (timer.elapsed() < kRunMs) {
        for (int i = 0; i < 100; ++i)
            sink += run();
        result.iterations += 100;
    }
    result.cpuNs = threadCpuNs() - cpuStart;
    result.wallNs = timer.nsecsElapsed();
    return result;
}

void report(QTextStream &out, const char *layer, const char *what, const Result &result,
    int opsPerRun = kOpsPerBatch)
{
    const double runs = double(result.iterations) / (double(result.cpuNs) / 1e9);
    const double wallUs = double(result.wallNs) / 1e3 / double(result.iterations);
    out << QStringLiteral("%1 %2 %3 %4 %5 %6\n")
               .arg(QLatin1StringView(layer), -6)
               .arg(QLatin1StringView(what), -40)
               .arg(runs, 11, 'f', 0)
               .arg(runs * opsPerRun, 11, 'f', 0)
               .arg(1e6 / runs, 9, 'f', 1)
               .arg(wallUs, 9, 'f', 1);
    out.flush();
}

} // namespace

int main()
{
    QTextStream out(stdout);
    qsizetype sink = 0;

    const QCborMap batchMap = clientOpBatch();
    const QByteArray frame = wire::MsgPackCodec::encode(QCborValue(batchMap));
    const std::optional<OpBatchMessage> typed = OpBatchMessage::fromCbor(batchMap);
    if (!typed || typed->ops.size() != kOpsPerBatch) {
        out << "sample OP_BATCH does not decode\n";
        return 1;
    }

    OpAckMessage ack;
    ack.lastId = typed->ops.constLast().id.value_or(QString());
    ack.achievedLevel = WriteConcern::Persisted;
    QList<OpResult> results;
    for (const ClientOp &op : typed->ops)
        results.append(OpResult { op.id.value_or(QString()), true, WriteConcern::Persisted, {} });
    ack.results = results;
    ack.envelopeTimestamp = crdt::Timestamp { 1700000000100, 0, u"server-1"_s };

    ServerEventMessage event;
    event.event = ServerEventPayload { u"todos"_s, ServerEventType::Put,
        typed->ops.constFirst().key, typed->ops.constFirst().record, {}, {} };
    event.envelopeTimestamp = ack.envelopeTimestamp;

    out << "OP_BATCH of " << kOpsPerBatch << " LWW PUTs, " << frame.size() << " bytes\n";
    out << "rates from thread CPU time; the last column is wall-clock time per run\n";
    out << QStringLiteral("%1 %2 %3 %4 %5 %6\n")
               .arg("layer"_L1, -6)
               .arg("operation"_L1, -40)
               .arg("batches/s"_L1, 11)
               .arg("ops/s"_L1, 11)
               .arg("cpu us"_L1, 9)
               .arg("wall us"_L1, 9);

    report(out, "raw", "decode bytes -> QCborValue",
        measure([&] { return wire::MsgPackCodec::decode(frame).value.toMap().size(); }, sink));
    report(out, "raw", "encode QCborValue -> bytes",
        measure([&] { return wire::MsgPackCodec::encode(QCborValue(batchMap)).size(); }, sink));
    report(out, "typed", "decode QCborMap -> OpBatchMessage",
        measure([&] { return OpBatchMessage::fromCbor(batchMap)->ops.size(); }, sink));
    report(out, "typed", "encode OpBatchMessage -> QCborMap",
        measure([&] { return typed->toCbor().size(); }, sink));
    report(out, "full", "decode frame -> OpBatchMessage",
        measure(
            [&] {
                const FrameDecodeResult decoded = Frame::decode(frame);
                return OpBatchMessage::fromCbor(decoded.message)->ops.size();
            },
            sink));
    report(out, "full", "encode OpBatchMessage -> frame",
        measure([&] { return Frame::encode(typed->toCbor()).size(); }, sink));
    report(out, "full", "encode OP_ACK (100 results) -> frame",
        measure([&] { return Frame::encode(ack.toCbor()).size(); }, sink));
    report(out, "full", "encode SERVER_EVENT -> frame (1 op each)",
        measure([&] { return Frame::encode(event.toCbor()).size(); }, sink), 1);

    out << "checksum " << sink % 1000 << "\n";
    return 0;
}

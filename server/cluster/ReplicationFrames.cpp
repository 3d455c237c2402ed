#include "cluster/ReplicationFrames.h"

#include "live/QueryRegistry.h"
#include "protocol/OpBatchDecoder.h"
#include "protocol/Records.h"
#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

#include <QCborArray>
#include <QCborMap>

namespace wingman::cluster::replication {

namespace {

std::optional<QCborMap> decodeMap(const QByteArray &body, QLatin1StringView type, QString *error)
{
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    if (!decoded.ok || !decoded.value.isMap()) {
        if (error)
            *error = decoded.ok ? QStringLiteral("not a map") : decoded.error.reason;
        return std::nullopt;
    }
    QCborMap map = decoded.value.toMap();
    if (map.value(QLatin1StringView("type")).toString() != type) {
        if (error)
            *error = QStringLiteral("not a %1").arg(type);
        return std::nullopt;
    }
    return map;
}

std::optional<quint64> seqOf(const QCborValue &value)
{
    if (value.isInteger() && value.toInteger() >= 0)
        return quint64(value.toInteger());
    if (value.isDouble() && value.toDouble() >= 0)
        return quint64(value.toDouble());
    return std::nullopt;
}

} // namespace

void appendEntry(QByteArray &entries, const live::Change &change)
{
    wire::MsgPackWriter out(entries, 128);
    const protocol::ServerEventPayload &event = change.event;
    out.mapHeader(3);
    out.latin1(QLatin1StringView("mapName"));
    out.string(event.mapName);
    out.latin1(QLatin1StringView("key"));
    out.string(event.key);
    if (event.record) {
        out.latin1(QLatin1StringView("record"));
        protocol::writeLwwRecord(out, *event.record);
    } else if (event.orRecord) {
        out.latin1(QLatin1StringView("orRecord"));
        protocol::writeOrRecord(out, *event.orRecord);
    } else {
        out.latin1(QLatin1StringView("orTag"));
        out.string(event.orTag.value_or(QString()));
    }
}

QByteArray replicateBody(quint64 seq, quint32 count, QByteArrayView entries)
{
    QByteArray body;
    {
        wire::MsgPackWriter out(body, entries.size() + 48);
        out.mapHeader(3);
        out.latin1(QLatin1StringView("type"));
        out.latin1(kReplicate);
        out.latin1(QLatin1StringView("seq"));
        out.integer(qint64(seq));
        out.latin1(QLatin1StringView("changes"));
        out.arrayHeader(count);
        out.raw(entries);
    }
    return body;
}

QByteArray ackBody(quint64 upTo)
{
    QByteArray body;
    {
        wire::MsgPackWriter out(body, 32);
        out.mapHeader(2);
        out.latin1(QLatin1StringView("type"));
        out.latin1(kReplicateAck);
        out.latin1(QLatin1StringView("upTo"));
        out.integer(qint64(upTo));
    }
    return body;
}

std::optional<Replicate> decodeReplicate(
    const QByteArray &body, QString *error, protocol::OpBatchDecoder *fast)
{
    if (fast) {
        if (std::optional<protocol::ReplicatedOps> ops = fast->decodeReplicate(body)) {
            Replicate result;
            result.seq = ops->seq;
            result.changes.reserve(ops->changes.size());
            for (protocol::ClientOp &op : ops->changes) {
                result.changes.append({ std::move(op.mapName), std::move(op.key),
                    std::move(op.record), std::move(op.orRecord), std::move(op.orTag) });
            }
            return result;
        }
    }
    const std::optional<QCborMap> map = decodeMap(body, kReplicate, error);
    if (!map)
        return std::nullopt;
    const std::optional<quint64> seq = seqOf(map->value(QLatin1StringView("seq")));
    const QCborValue changes = map->value(QLatin1StringView("changes"));
    if (!seq || !changes.isArray()) {
        if (error)
            *error = QStringLiteral("seq and changes are required");
        return std::nullopt;
    }
    Replicate result;
    result.seq = *seq;
    const QCborArray array = changes.toArray();
    result.changes.reserve(array.size());
    for (const QCborValue &entry : array) {
        const QCborMap fields = entry.toMap();
        ops::ReplicatedChange change;
        change.mapName = fields.value(QLatin1StringView("mapName")).toString();
        change.key = fields.value(QLatin1StringView("key")).toString();
        protocol::DecodeError why;
        if (const QCborValue record = fields.value(QLatin1StringView("record"));
            !record.isUndefined())
            change.record = protocol::lwwRecordFromCbor(record, &why);
        else if (const QCborValue orRecord = fields.value(QLatin1StringView("orRecord"));
                 !orRecord.isUndefined())
            change.orRecord = protocol::orRecordFromCbor(orRecord, &why);
        else if (const QCborValue tag = fields.value(QLatin1StringView("orTag")); tag.isString())
            change.orTag = tag.toString();
        if (change.mapName.isEmpty() || change.key.isEmpty()
            || (!change.record && !change.orRecord && !change.orTag)) {
            if (error)
                *error = QStringLiteral("malformed change: %1 %2").arg(why.field, why.reason);
            return std::nullopt;
        }
        result.changes.append(std::move(change));
    }
    return result;
}

std::optional<quint64> decodeAck(const QByteArray &body)
{
    const std::optional<QCborMap> map = decodeMap(body, kReplicateAck, nullptr);
    if (!map)
        return std::nullopt;
    return seqOf(map->value(QLatin1StringView("upTo")));
}

} // namespace wingman::cluster::replication

#include "protocol/MessageFields.h"

#include "protocol/MsgPackWriter.h"

#include <limits>

namespace wingman::protocol::fields {

using namespace Qt::StringLiterals;

QCborMap startMessage(MessageType type)
{
    QCborMap message;
    message.insert("type"_L1, messageTypeName(type));
    return message;
}

void beginMessage(MsgPackWriter &out, MessageType type, quint32 entries,
    const std::optional<crdt::Timestamp> &timestamp)
{
    out.mapHeader(entries + (timestamp ? 1 : 0));
    out.latin1("type"_L1);
    out.latin1(messageTypeName(type));
}

void endMessage(MsgPackWriter &out, const std::optional<crdt::Timestamp> &timestamp)
{
    if (timestamp) {
        out.latin1("timestamp"_L1);
        writeTimestamp(out, *timestamp);
    }
}

void putEnvelopeTimestamp(QCborMap &message, const std::optional<crdt::Timestamp> &timestamp)
{
    if (timestamp)
        message.insert("timestamp"_L1, timestampToCbor(*timestamp));
}

bool readPayload(const FieldReader &top, MessageType type, QCborMap &payload)
{
    return top.type(messageTypeName(type)) && top.map("payload"_L1, payload);
}

bool readEnvelopeTimestamp(const FieldReader &top, std::optional<crdt::Timestamp> &out)
{
    const QCborValue value = top.value("timestamp"_L1);
    if (isAbsentOrNull(value)) {
        out.reset();
        return true;
    }
    out = timestampFromCbor(value, top.error(), FieldPath(top.path(), "timestamp"_L1));
    return out.has_value();
}

bool readTimestamp(const FieldReader &fields, QLatin1StringView name, crdt::Timestamp &out)
{
    std::optional<crdt::Timestamp> timestamp
        = timestampFromCbor(fields.value(name), fields.error(), FieldPath(fields.path(), name));
    if (!timestamp)
        return false;
    out = std::move(*timestamp);
    return true;
}

bool readLwwRecord(const FieldReader &fields, QLatin1StringView name, crdt::LwwRecord &out)
{
    std::optional<crdt::LwwRecord> record
        = lwwRecordFromCbor(fields.value(name), fields.error(), FieldPath(fields.path(), name));
    if (!record)
        return false;
    out = std::move(*record);
    return true;
}

bool readOptionalLwwRecord(
    const FieldReader &fields, QLatin1StringView name, std::optional<crdt::LwwRecord> &out)
{
    const QCborValue value = fields.value(name);
    if (isAbsentOrNull(value)) {
        out.reset();
        return true;
    }
    out = lwwRecordFromCbor(value, fields.error(), FieldPath(fields.path(), name));
    return out.has_value();
}

bool readOptionalOrRecord(
    const FieldReader &fields, QLatin1StringView name, std::optional<crdt::OrRecord> &out)
{
    const QCborValue value = fields.value(name);
    if (isAbsentOrNull(value)) {
        out.reset();
        return true;
    }
    out = orRecordFromCbor(value, fields.error(), FieldPath(fields.path(), name));
    return out.has_value();
}

bool readBuckets(const FieldReader &fields, QLatin1StringView name, BucketHashes &out)
{
    QCborMap buckets;
    if (!fields.map(name, buckets))
        return false;
    out.clear();
    for (auto it = buckets.cbegin(); it != buckets.cend(); ++it) {
        const QCborValue key = it.key();
        if (!key.isString())
            return fields.fail(name, QStringLiteral("keys must be strings"));
        const std::optional<qint64> hash = toInt64(it.value());
        if (!hash || *hash < std::numeric_limits<qint32>::min()
            || *hash > qint64(std::numeric_limits<quint32>::max())) {
            return fields.fail(
                name, QStringLiteral("bucket '%1' must be a 32-bit hash").arg(key.toString()));
        }
        out.insert(key.toString(), quint32(*hash));
    }
    return true;
}

QCborMap bucketsToCbor(const BucketHashes &buckets)
{
    QCborMap map;
    for (auto it = buckets.cbegin(); it != buckets.cend(); ++it)
        map.insert(it.key(), qint64(it.value()));
    return map;
}

QCborArray stringsToCbor(const QStringList &strings)
{
    QCborArray array;
    for (const QString &s : strings)
        array.append(s);
    return array;
}

} // namespace wingman::protocol::fields

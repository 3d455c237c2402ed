#include "protocol/MessageTypes.h"

#include "protocol/MessageFields.h"
#include "protocol/MsgPackWriter.h"

#include <iterator>
#include <limits>
#include <utility>

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

namespace {

template <typename Enum> using NameTable = std::pair<Enum, QLatin1StringView>;

// In enum order, so that a name is found by index.
constexpr NameTable<MessageType> kMessageTypes[] = {
    { MessageType::AuthRequired, "AUTH_REQUIRED"_L1 },
    { MessageType::Auth, "AUTH"_L1 },
    { MessageType::AuthAck, "AUTH_ACK"_L1 },
    { MessageType::AuthFail, "AUTH_FAIL"_L1 },
    { MessageType::Ping, "PING"_L1 },
    { MessageType::Pong, "PONG"_L1 },
    { MessageType::ClientOp, "CLIENT_OP"_L1 },
    { MessageType::OpBatch, "OP_BATCH"_L1 },
    { MessageType::OpAck, "OP_ACK"_L1 },
    { MessageType::OpRejected, "OP_REJECTED"_L1 },
    { MessageType::ServerEvent, "SERVER_EVENT"_L1 },
    { MessageType::ServerBatchEvent, "SERVER_BATCH_EVENT"_L1 },
    { MessageType::Batch, "BATCH"_L1 },
    { MessageType::QuerySub, "QUERY_SUB"_L1 },
    { MessageType::QueryResp, "QUERY_RESP"_L1 },
    { MessageType::QueryUpdate, "QUERY_UPDATE"_L1 },
    { MessageType::QueryUnsub, "QUERY_UNSUB"_L1 },
    { MessageType::SyncInit, "SYNC_INIT"_L1 },
    { MessageType::SyncRespRoot, "SYNC_RESP_ROOT"_L1 },
    { MessageType::MerkleReqBucket, "MERKLE_REQ_BUCKET"_L1 },
    { MessageType::SyncRespBuckets, "SYNC_RESP_BUCKETS"_L1 },
    { MessageType::SyncRespLeaf, "SYNC_RESP_LEAF"_L1 },
    { MessageType::SyncResetRequired, "SYNC_RESET_REQUIRED"_L1 },
    { MessageType::OrMapSyncInit, "ORMAP_SYNC_INIT"_L1 },
    { MessageType::OrMapSyncRespRoot, "ORMAP_SYNC_RESP_ROOT"_L1 },
    { MessageType::OrMapMerkleReqBucket, "ORMAP_MERKLE_REQ_BUCKET"_L1 },
    { MessageType::OrMapSyncRespBuckets, "ORMAP_SYNC_RESP_BUCKETS"_L1 },
    { MessageType::OrMapSyncRespLeaf, "ORMAP_SYNC_RESP_LEAF"_L1 },
    { MessageType::OrMapDiffRequest, "ORMAP_DIFF_REQUEST"_L1 },
    { MessageType::OrMapDiffResponse, "ORMAP_DIFF_RESPONSE"_L1 },
    { MessageType::OrMapPushDiff, "ORMAP_PUSH_DIFF"_L1 },
    { MessageType::ShutdownPending, "SHUTDOWN_PENDING"_L1 },
    { MessageType::Error, "ERROR"_L1 },
    { MessageType::GcPrune, "GC_PRUNE"_L1 },
};

constexpr NameTable<WriteConcern> kWriteConcerns[] = {
    { WriteConcern::FireAndForget, "FIRE_AND_FORGET"_L1 },
    { WriteConcern::Memory, "MEMORY"_L1 },
    { WriteConcern::Applied, "APPLIED"_L1 },
    { WriteConcern::Replicated, "REPLICATED"_L1 },
    { WriteConcern::Persisted, "PERSISTED"_L1 },
};

constexpr NameTable<OpType> kOpTypes[] = {
    { OpType::Put, "PUT"_L1 },
    { OpType::Remove, "REMOVE"_L1 },
    { OpType::OrAdd, "OR_ADD"_L1 },
    { OpType::OrRemove, "OR_REMOVE"_L1 },
};

constexpr NameTable<ServerEventType> kServerEventTypes[] = {
    { ServerEventType::Put, "PUT"_L1 },
    { ServerEventType::Remove, "REMOVE"_L1 },
    { ServerEventType::OrAdd, "OR_ADD"_L1 },
    { ServerEventType::OrRemove, "OR_REMOVE"_L1 },
    { ServerEventType::Updated, "UPDATED"_L1 },
};

constexpr NameTable<QueryChange> kQueryChanges[] = {
    { QueryChange::Enter, "ENTER"_L1 },
    { QueryChange::Update, "UPDATE"_L1 },
    { QueryChange::Remove, "REMOVE"_L1 },
};

template <typename Enum, size_t N> constexpr bool inEnumOrder(const NameTable<Enum> (&table)[N])
{
    for (size_t i = 0; i < N; ++i) {
        if (size_t(table[i].first) != i)
            return false;
    }
    return true;
}

static_assert(inEnumOrder(kMessageTypes) && inEnumOrder(kWriteConcerns) && inEnumOrder(kOpTypes)
    && inEnumOrder(kServerEventTypes) && inEnumOrder(kQueryChanges));

template <typename Enum, size_t N>
QLatin1StringView nameOf(const NameTable<Enum> (&table)[N], Enum value)
{
    const auto index = size_t(value);
    return index < N ? table[index].second : QLatin1StringView();
}

template <typename Enum, size_t N>
std::optional<Enum> valueOf(const NameTable<Enum> (&table)[N], QStringView name)
{
    for (const auto &[value, text] : table) {
        if (name == text)
            return value;
    }
    return std::nullopt;
}

bool requireMap(const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    if (value.isMap())
        return true;
    return failAt(error, path,
        isAbsent(value) ? QStringLiteral("is required") : QStringLiteral("must be a map"));
}

// Records are values: nil or absent means a tombstone, written back as nil.
QCborValue recordValue(const QCborValue &value)
{
    return value.isUndefined() ? QCborValue(nullptr) : value;
}

} // namespace

QLatin1StringView messageTypeName(MessageType type)
{
    return nameOf(kMessageTypes, type);
}

std::optional<MessageType> messageTypeFromName(QStringView name)
{
    return valueOf(kMessageTypes, name);
}

QLatin1StringView writeConcernName(WriteConcern concern)
{
    return nameOf(kWriteConcerns, concern);
}

std::optional<WriteConcern> writeConcernFromName(QStringView name)
{
    return valueOf(kWriteConcerns, name);
}

QLatin1StringView opTypeName(OpType type)
{
    return nameOf(kOpTypes, type);
}

std::optional<OpType> opTypeFromName(QStringView name)
{
    return valueOf(kOpTypes, name);
}

QLatin1StringView serverEventTypeName(ServerEventType type)
{
    return nameOf(kServerEventTypes, type);
}

std::optional<ServerEventType> serverEventTypeFromName(QStringView name)
{
    return valueOf(kServerEventTypes, name);
}

QLatin1StringView queryChangeName(QueryChange change)
{
    return nameOf(kQueryChanges, change);
}

std::optional<QueryChange> queryChangeFromName(QStringView name)
{
    return valueOf(kQueryChanges, name);
}

QCborMap timestampToCbor(const crdt::Timestamp &timestamp)
{
    QCborMap map;
    map.insert("millis"_L1, timestamp.millis);
    map.insert("counter"_L1, timestamp.counter);
    map.insert("nodeId"_L1, timestamp.nodeId);
    return map;
}

void writeTimestamp(MsgPackWriter &out, const crdt::Timestamp &timestamp)
{
    out.mapHeader(3);
    out.latin1("millis"_L1);
    out.integer(timestamp.millis);
    out.latin1("counter"_L1);
    out.integer(timestamp.counter);
    out.latin1("nodeId"_L1);
    out.string(timestamp.nodeId);
}

std::optional<crdt::Timestamp> timestampFromCbor(
    const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    if (!requireMap(value, error, path))
        return std::nullopt;
    const FieldReader fields(value.toMap(), path, error);
    crdt::Timestamp timestamp;
    qint64 counter = 0;
    if (!fields.integer("millis"_L1, timestamp.millis) || !fields.integer("counter"_L1, counter)
        || !fields.string("nodeId"_L1, timestamp.nodeId)) {
        return std::nullopt;
    }
    if (counter < std::numeric_limits<qint32>::min()
        || counter > std::numeric_limits<qint32>::max()) {
        fields.fail("counter"_L1, QStringLiteral("must be a 32-bit integer"));
        return std::nullopt;
    }
    timestamp.counter = qint32(counter);
    return timestamp;
}

QCborMap lwwRecordToCbor(const crdt::LwwRecord &record)
{
    QCborMap map;
    map.insert("value"_L1, recordValue(record.value.toCbor()));
    map.insert("timestamp"_L1, timestampToCbor(record.timestamp));
    if (record.ttlMs)
        map.insert("ttlMs"_L1, *record.ttlMs);
    return map;
}

void writeLwwRecord(MsgPackWriter &out, const crdt::LwwRecord &record)
{
    out.mapHeader(record.ttlMs ? 3 : 2);
    out.latin1("value"_L1);
    out.recordValue(record.value);
    out.latin1("timestamp"_L1);
    writeTimestamp(out, record.timestamp);
    if (record.ttlMs) {
        out.latin1("ttlMs"_L1);
        out.integer(*record.ttlMs);
    }
}

std::optional<crdt::LwwRecord> lwwRecordFromCbor(
    const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    if (!requireMap(value, error, path))
        return std::nullopt;
    const FieldReader fields(value.toMap(), path, error);
    crdt::LwwRecord record;
    record.value = recordValue(fields.value("value"_L1));
    if (!readTimestamp(fields, "timestamp"_L1, record.timestamp)
        || !fields.optionalInteger("ttlMs"_L1, record.ttlMs)) {
        return std::nullopt;
    }
    return record;
}

QCborMap orRecordToCbor(const crdt::OrRecord &record)
{
    QCborMap map;
    map.insert("value"_L1, recordValue(record.value.toCbor()));
    map.insert("timestamp"_L1, timestampToCbor(record.timestamp));
    map.insert("tag"_L1, record.tag);
    if (record.ttlMs)
        map.insert("ttlMs"_L1, *record.ttlMs);
    return map;
}

void writeOrRecord(MsgPackWriter &out, const crdt::OrRecord &record)
{
    out.mapHeader(record.ttlMs ? 4 : 3);
    out.latin1("value"_L1);
    out.recordValue(record.value);
    out.latin1("timestamp"_L1);
    writeTimestamp(out, record.timestamp);
    out.latin1("tag"_L1);
    out.string(record.tag);
    if (record.ttlMs) {
        out.latin1("ttlMs"_L1);
        out.integer(*record.ttlMs);
    }
}

std::optional<crdt::OrRecord> orRecordFromCbor(
    const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    if (!requireMap(value, error, path))
        return std::nullopt;
    const FieldReader fields(value.toMap(), path, error);
    crdt::OrRecord record;
    record.value = recordValue(fields.value("value"_L1));
    if (!readTimestamp(fields, "timestamp"_L1, record.timestamp)
        || !fields.string("tag"_L1, record.tag)
        || !fields.optionalInteger("ttlMs"_L1, record.ttlMs)) {
        return std::nullopt;
    }
    return record;
}

OpType ClientOp::effectiveType() const
{
    if (opType == OpType::OrAdd || opType == OpType::OrRemove || opType == OpType::Remove)
        return *opType;
    if (opType == OpType::Put || record)
        return record && !record->isTombstone() ? OpType::Put : OpType::Remove;
    if (orRecord)
        return OpType::OrAdd;
    if (orTag)
        return OpType::OrRemove;
    return OpType::Remove;
}

std::optional<ClientOp> ClientOp::fromCbor(
    const QCborMap &map, DecodeError *error, const FieldPath &path)
{
    const FieldReader fields(map, path, error);
    // Every string of an op counts, a record value's included: refused before any is read.
    if (MsgPackCodec::containsInvalidString(map)) {
        failAt(error, path, QStringLiteral("contains a string that is not valid UTF-8"));
        return std::nullopt;
    }
    ClientOp op;
    if (!fields.optionalString("id"_L1, op.id) || !fields.string("mapName"_L1, op.mapName)
        || !fields.string("key"_L1, op.key)
        || !readOptionalEnum(fields, "opType"_L1, opTypeFromName, op.opType)
        || !readOptionalLwwRecord(fields, "record"_L1, op.record)
        || !readOptionalOrRecord(fields, "orRecord"_L1, op.orRecord)
        || !fields.optionalString("orTag"_L1, op.orTag)
        || !readOptionalEnum(fields, "writeConcern"_L1, writeConcernFromName, op.writeConcern)
        || !fields.optionalInteger("timeout"_L1, op.timeout)) {
        return std::nullopt;
    }

    if (!op.opType) {
        if (!op.record && !op.orRecord && !op.orTag) {
            fields.fail("record"_L1, QStringLiteral("is required"));
            return std::nullopt;
        }
        return op;
    }
    switch (*op.opType) {
    case OpType::Put:
        if (!op.record) {
            fields.fail("record"_L1, QStringLiteral("is required for PUT"));
            return std::nullopt;
        }
        break;
    case OpType::OrAdd:
        if (!op.orRecord) {
            fields.fail("orRecord"_L1, QStringLiteral("is required for OR_ADD"));
            return std::nullopt;
        }
        break;
    case OpType::OrRemove:
        if (!op.orTag) {
            fields.fail("orTag"_L1, QStringLiteral("is required for OR_REMOVE"));
            return std::nullopt;
        }
        break;
    case OpType::Remove:
        break;
    }
    return op;
}

QCborMap ClientOp::toCbor() const
{
    QCborMap map;
    if (id)
        map.insert("id"_L1, *id);
    map.insert("mapName"_L1, mapName);
    map.insert("key"_L1, key);
    if (opType)
        map.insert("opType"_L1, opTypeName(*opType));
    if (record)
        map.insert("record"_L1, lwwRecordToCbor(*record));
    if (orRecord)
        map.insert("orRecord"_L1, orRecordToCbor(*orRecord));
    if (orTag)
        map.insert("orTag"_L1, *orTag);
    if (writeConcern)
        map.insert("writeConcern"_L1, writeConcernName(*writeConcern));
    if (timeout)
        map.insert("timeout"_L1, *timeout);
    return map;
}

std::optional<OpResult> OpResult::fromCbor(
    const QCborMap &map, DecodeError *error, const FieldPath &path)
{
    const FieldReader fields(map, path, error);
    OpResult result;
    if (!fields.string("opId"_L1, result.opId) || !fields.boolean("success"_L1, result.success)
        || !readEnum(fields, "achievedLevel"_L1, writeConcernFromName, result.achievedLevel)
        || !fields.optionalString("error"_L1, result.error)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OpResult::toCbor() const
{
    QCborMap map;
    map.insert("opId"_L1, opId);
    map.insert("success"_L1, success);
    map.insert("achievedLevel"_L1, writeConcernName(achievedLevel));
    if (error)
        map.insert("error"_L1, *error);
    return map;
}

void OpResult::write(MsgPackWriter &out) const
{
    out.mapHeader(error ? 4 : 3);
    out.latin1("opId"_L1);
    out.string(opId);
    out.latin1("success"_L1);
    out.boolean(success);
    out.latin1("achievedLevel"_L1);
    out.latin1(writeConcernName(achievedLevel));
    if (error) {
        out.latin1("error"_L1);
        out.string(*error);
    }
}

std::optional<ServerEventPayload> ServerEventPayload::fromCbor(
    const QCborMap &map, DecodeError *error, const FieldPath &path)
{
    const FieldReader fields(map, path, error);
    ServerEventPayload event;
    if (!fields.string("mapName"_L1, event.mapName)
        || !readEnum(fields, "eventType"_L1, serverEventTypeFromName, event.eventType)
        || !fields.string("key"_L1, event.key)
        || !readOptionalLwwRecord(fields, "record"_L1, event.record)
        || !readOptionalOrRecord(fields, "orRecord"_L1, event.orRecord)
        || !fields.optionalString("orTag"_L1, event.orTag)) {
        return std::nullopt;
    }
    return event;
}

QCborMap ServerEventPayload::toCbor() const
{
    QCborMap map;
    map.insert("mapName"_L1, mapName);
    map.insert("eventType"_L1, serverEventTypeName(eventType));
    map.insert("key"_L1, key);
    if (record)
        map.insert("record"_L1, lwwRecordToCbor(*record));
    if (orRecord)
        map.insert("orRecord"_L1, orRecordToCbor(*orRecord));
    if (orTag)
        map.insert("orTag"_L1, *orTag);
    return map;
}

void ServerEventPayload::write(MsgPackWriter &out) const
{
    out.mapHeader(3 + (record ? 1 : 0) + (orRecord ? 1 : 0) + (orTag ? 1 : 0));
    out.latin1("mapName"_L1);
    out.string(mapName);
    out.latin1("eventType"_L1);
    out.latin1(serverEventTypeName(eventType));
    out.latin1("key"_L1);
    out.string(key);
    if (record) {
        out.latin1("record"_L1);
        writeLwwRecord(out, *record);
    }
    if (orRecord) {
        out.latin1("orRecord"_L1);
        writeOrRecord(out, *orRecord);
    }
    if (orTag) {
        out.latin1("orTag"_L1);
        out.string(*orTag);
    }
}

std::optional<QueryResult> QueryResult::fromCbor(
    const QCborMap &map, DecodeError *error, const FieldPath &path)
{
    const FieldReader fields(map, path, error);
    QueryResult result;
    if (!fields.string("key"_L1, result.key))
        return std::nullopt;
    result.value = recordValue(fields.value("value"_L1));
    return result;
}

QCborMap QueryResult::toCbor() const
{
    QCborMap map;
    map.insert("key"_L1, key);
    map.insert("value"_L1, recordValue(value));
    return map;
}

std::optional<LeafRecord> LeafRecord::fromCbor(
    const QCborMap &map, DecodeError *error, const FieldPath &path)
{
    const FieldReader fields(map, path, error);
    LeafRecord leaf;
    if (!fields.string("key"_L1, leaf.key) || !readLwwRecord(fields, "record"_L1, leaf.record))
        return std::nullopt;
    return leaf;
}

QCborMap LeafRecord::toCbor() const
{
    QCborMap map;
    map.insert("key"_L1, key);
    map.insert("record"_L1, lwwRecordToCbor(record));
    return map;
}

std::optional<OrMapEntry> OrMapEntry::fromCbor(
    const QCborMap &map, DecodeError *error, const FieldPath &path)
{
    const FieldReader fields(map, path, error);
    OrMapEntry entry;
    if (!fields.string("key"_L1, entry.key)
        || !readList(fields, "records"_L1, entry.records, orRecordFromCbor)
        || !fields.stringList("tombstones"_L1, entry.tombstones)) {
        return std::nullopt;
    }
    return entry;
}

QCborMap OrMapEntry::toCbor() const
{
    QCborMap map;
    map.insert("key"_L1, key);
    QCborArray recordArray;
    for (const crdt::OrRecord &record : records)
        recordArray.append(orRecordToCbor(record));
    map.insert("records"_L1, recordArray);
    map.insert("tombstones"_L1, stringsToCbor(tombstones));
    return map;
}

} // namespace wingman::protocol

#include "protocol/MessageTypes.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using ClientOpFields = Fields<
    Field<"id", &ClientOp::id>,
    Field<"mapName", &ClientOp::mapName>,
    Field<"key", &ClientOp::key>,
    Field<"opType", &ClientOp::opType>,
    Field<"record", &ClientOp::record>,
    Field<"orRecord", &ClientOp::orRecord>,
    Field<"orTag", &ClientOp::orTag>,
    Field<"writeConcern", &ClientOp::writeConcern>,
    Field<"timeout", &ClientOp::timeout>>;

using OpResultFields = Fields<
    Field<"opId", &OpResult::opId>,
    Field<"success", &OpResult::success>,
    Field<"achievedLevel", &OpResult::achievedLevel>,
    Field<"error", &OpResult::error>>;

using ServerEventFields = Fields<
    Field<"mapName", &ServerEventPayload::mapName>,
    Field<"eventType", &ServerEventPayload::eventType>,
    Field<"key", &ServerEventPayload::key>,
    Field<"record", &ServerEventPayload::record>,
    Field<"orRecord", &ServerEventPayload::orRecord>,
    Field<"orTag", &ServerEventPayload::orTag>>;

using QueryResultFields = Fields<
    Field<"key", &QueryResult::key>,
    Field<"value", &QueryResult::value, RecordValue>>;

using LeafRecordFields = Fields<
    Field<"key", &LeafRecord::key>,
    Field<"record", &LeafRecord::record>>;

using OrMapEntryFields = Fields<
    Field<"key", &OrMapEntry::key>,
    Field<"records", &OrMapEntry::records>,
    Field<"tombstones", &OrMapEntry::tombstones>>;
// clang-format on

// What an op's type needs beyond field types; the field that lacks it and why, or nullopt.
std::optional<std::pair<QLatin1StringView, QString>> missingPart(const ClientOp &op)
{
    if (!op.opType) {
        if (!op.record && !op.orRecord && !op.orTag)
            return std::pair("record"_L1, u"is required"_s);
        return std::nullopt;
    }
    switch (*op.opType) {
    case OpType::Put:
        if (!op.record)
            return std::pair("record"_L1, u"is required for PUT"_s);
        break;
    case OpType::OrAdd:
        if (!op.orRecord)
            return std::pair("orRecord"_L1, u"is required for OR_ADD"_s);
        break;
    case OpType::OrRemove:
        if (!op.orTag)
            return std::pair("orTag"_L1, u"is required for OR_REMOVE"_s);
        break;
    case OpType::Remove:
        break;
    }
    return std::nullopt;
}

} // namespace

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
    // Every string of an op counts, a record value's included: refused before any is read.
    if (wire::MsgPackCodec::containsInvalidString(map)) {
        failAt(error, path, QStringLiteral("contains a string that is not valid UTF-8"));
        return std::nullopt;
    }
    std::optional<ClientOp> op = ClientOpFields::fromMap(map, error, path);
    if (!op)
        return std::nullopt;
    if (const auto missing = missingPart(*op)) {
        failAt(error, FieldPath(path, missing->first), missing->second);
        return std::nullopt;
    }
    return op;
}

QCborMap ClientOp::toCbor() const
{
    return ClientOpFields::toCbor(*this);
}

WINGMAN_SHAPE_CODEC(OpResult, OpResultFields);

void OpResult::write(wire::MsgPackWriter &out) const
{
    OpResultFields::write(out, *this);
}

WINGMAN_SHAPE_CODEC(ServerEventPayload, ServerEventFields);

void ServerEventPayload::write(wire::MsgPackWriter &out) const
{
    ServerEventFields::write(out, *this);
}

WINGMAN_SHAPE_CODEC(QueryResult, QueryResultFields);

void QueryResult::write(wire::MsgPackWriter &out) const
{
    QueryResultFields::write(out, *this);
}

WINGMAN_SHAPE_CODEC(LeafRecord, LeafRecordFields);

void LeafRecord::write(wire::MsgPackWriter &out) const
{
    LeafRecordFields::write(out, *this);
}

WINGMAN_SHAPE_CODEC(OrMapEntry, OrMapEntryFields);

} // namespace wingman::protocol

#include "protocol/Records.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using TimestampFields = Fields<
    Field<"millis", &crdt::Timestamp::millis>,
    Field<"counter", &crdt::Timestamp::counter>,
    Field<"nodeId", &crdt::Timestamp::nodeId>>;

// LWW and OR records differ only by the OR record's tag.
template <typename Record, typename... Tag>
using RecordFields = Fields<
    Field<"value", &Record::value>,
    Field<"timestamp", &Record::timestamp, Nested<TimestampFields>>,
    Tag...,
    Field<"ttlMs", &Record::ttlMs>>;

using LwwRecordFields = RecordFields<crdt::LwwRecord>;
using OrRecordFields = RecordFields<crdt::OrRecord, Field<"tag", &crdt::OrRecord::tag>>;
// clang-format on

} // namespace

// The free functions of Records.h for one table.
#define WINGMAN_VALUE_CODEC(Type, Table, toCborName, fromCborName, writeName)                      \
    QCborMap toCborName(const Type &value)                                                         \
    {                                                                                              \
        return Table::toCbor(value);                                                               \
    }                                                                                              \
    std::optional<Type> fromCborName(                                                              \
        const QCborValue &value, DecodeError *error, const FieldPath &path)                        \
    {                                                                                              \
        return Table::fromValue(value, error, path);                                               \
    }                                                                                              \
    void writeName(wire::MsgPackWriter &out, const Type &value)                                    \
    {                                                                                              \
        Table::write(out, value);                                                                  \
    }                                                                                              \
    static_assert(true)

WINGMAN_VALUE_CODEC(
    crdt::Timestamp, TimestampFields, timestampToCbor, timestampFromCbor, writeTimestamp);
WINGMAN_VALUE_CODEC(
    crdt::LwwRecord, LwwRecordFields, lwwRecordToCbor, lwwRecordFromCbor, writeLwwRecord);
WINGMAN_VALUE_CODEC(
    crdt::OrRecord, OrRecordFields, orRecordToCbor, orRecordFromCbor, writeOrRecord);

} // namespace wingman::protocol

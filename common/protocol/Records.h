#pragma once

#include "crdt/LwwRecord.h"
#include "crdt/OrRecord.h"
#include "crdt/Timestamp.h"
#include "protocol/FieldPath.h"
#include "protocol/Wire.h"

#include <QCborMap>
#include <QCborValue>

#include <optional>

namespace wingman::protocol {

// The record shapes nested in messages. `path` names where the value sits in its message, so
// that an error reads "payload.ops.3.record.timestamp.millis"; it may be left empty. The write*
// functions produce exactly the bytes wire::MsgPackCodec::encode gives for the *ToCbor form,
// without building it: they serve the messages sent per op.

// {millis, counter, nodeId}; millis is read as 64-bit from any int or float.
QCborMap timestampToCbor(const crdt::Timestamp &timestamp);
std::optional<crdt::Timestamp> timestampFromCbor(
    const QCborValue &value, DecodeError *error = nullptr, const FieldPath &path = {});
void writeTimestamp(wire::MsgPackWriter &out, const crdt::Timestamp &timestamp);

// {value, timestamp, ttlMs?}; value nil (or absent) is a tombstone and is written as nil.
QCborMap lwwRecordToCbor(const crdt::LwwRecord &record);
std::optional<crdt::LwwRecord> lwwRecordFromCbor(
    const QCborValue &value, DecodeError *error = nullptr, const FieldPath &path = {});
void writeLwwRecord(wire::MsgPackWriter &out, const crdt::LwwRecord &record);

// {value, timestamp, tag, ttlMs?}.
QCborMap orRecordToCbor(const crdt::OrRecord &record);
std::optional<crdt::OrRecord> orRecordFromCbor(
    const QCborValue &value, DecodeError *error = nullptr, const FieldPath &path = {});
void writeOrRecord(wire::MsgPackWriter &out, const crdt::OrRecord &record);

} // namespace wingman::protocol

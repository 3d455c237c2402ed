#include "protocol/SyncMessages.h"

#include "protocol/MessageFields.h"
#include "protocol/MsgPackWriter.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

std::optional<SyncInitMessage> SyncInitMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    SyncInitMessage result;
    if (!top.type(messageTypeName(kType)) || !top.string("mapName"_L1, result.mapName)
        || !top.optionalInteger("lastSyncTimestamp"_L1, result.lastSyncTimestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap SyncInitMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("mapName"_L1, mapName);
    if (lastSyncTimestamp)
        message.insert("lastSyncTimestamp"_L1, *lastSyncTimestamp);
    return message;
}

std::optional<SyncRespRootMessage> SyncRespRootMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    SyncRespRootMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("mapName"_L1, result.mapName) || !fields.hash("rootHash"_L1, result.rootHash)
        || !readTimestamp(fields, "timestamp"_L1, result.timestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap SyncRespRootMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("rootHash"_L1, qint64(rootHash));
    payload.insert("timestamp"_L1, timestampToCbor(timestamp));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<MerkleReqBucketMessage> MerkleReqBucketMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    MerkleReqBucketMessage result;
    if (!fields.string("mapName"_L1, result.mapName) || !fields.string("path"_L1, result.path))
        return std::nullopt;
    return result;
}

QCborMap MerkleReqBucketMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("path"_L1, path);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    return message;
}

std::optional<SyncRespBucketsMessage> SyncRespBucketsMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    SyncRespBucketsMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("mapName"_L1, result.mapName) || !fields.string("path"_L1, result.path)
        || !readBuckets(fields, "buckets"_L1, result.buckets)) {
        return std::nullopt;
    }
    return result;
}

QCborMap SyncRespBucketsMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("path"_L1, path);
    payload.insert("buckets"_L1, bucketsToCbor(buckets));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<SyncRespLeafMessage> SyncRespLeafMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    SyncRespLeafMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("mapName"_L1, result.mapName) || !fields.string("path"_L1, result.path)
        || !readList(fields, "records"_L1, result.records)) {
        return std::nullopt;
    }
    return result;
}

QCborMap SyncRespLeafMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("path"_L1, path);
    payload.insert("records"_L1, listToCbor(records));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

QByteArray SyncRespLeafMessage::encode() const
{
    QByteArray bytes;
    MsgPackWriter out(bytes, 128 + 96 * records.size());
    fields::beginMessage(out, kType, 2, envelopeTimestamp);
    out.latin1("payload"_L1);
    out.mapHeader(3);
    out.latin1("mapName"_L1);
    out.string(mapName);
    out.latin1("path"_L1);
    out.string(path);
    out.latin1("records"_L1);
    out.arrayHeader(quint32(records.size()));
    for (const LeafRecord &leaf : records) {
        out.mapHeader(2);
        out.latin1("key"_L1);
        out.string(leaf.key);
        out.latin1("record"_L1);
        writeLwwRecord(out, leaf.record);
    }
    fields::endMessage(out, envelopeTimestamp);
    out.finish();
    return bytes;
}

std::optional<SyncResetRequiredMessage> SyncResetRequiredMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    SyncResetRequiredMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("mapName"_L1, result.mapName) || !fields.string("reason"_L1, result.reason))
        return std::nullopt;
    return result;
}

QCborMap SyncResetRequiredMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("reason"_L1, reason);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

} // namespace wingman::protocol

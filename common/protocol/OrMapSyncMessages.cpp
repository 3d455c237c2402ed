#include "protocol/OrMapSyncMessages.h"

#include "protocol/MessageFields.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

namespace {

// The shape shared by ORMAP_SYNC_RESP_LEAF, ORMAP_DIFF_RESPONSE and ORMAP_PUSH_DIFF payloads.
bool readEntries(const FieldReader &fields, QString &mapName, QList<OrMapEntry> &entries)
{
    return fields.string("mapName"_L1, mapName) && readList(fields, "entries"_L1, entries);
}

QCborMap entriesPayload(const QString &mapName, const QList<OrMapEntry> &entries)
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("entries"_L1, listToCbor(entries));
    return payload;
}

QCborMap withPayload(MessageType type, const QCborMap &payload,
    const std::optional<crdt::Timestamp> &envelopeTimestamp = std::nullopt)
{
    QCborMap message = startMessage(type);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

} // namespace

std::optional<OrMapSyncInitMessage> OrMapSyncInitMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    OrMapSyncInitMessage result;
    if (!top.type(messageTypeName(kType)) || !top.string("mapName"_L1, result.mapName)
        || !top.hash("rootHash"_L1, result.rootHash)
        || !readBuckets(top, "bucketHashes"_L1, result.bucketHashes)
        || !top.optionalInteger("lastSyncTimestamp"_L1, result.lastSyncTimestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OrMapSyncInitMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("mapName"_L1, mapName);
    message.insert("rootHash"_L1, qint64(rootHash));
    message.insert("bucketHashes"_L1, bucketsToCbor(bucketHashes));
    if (lastSyncTimestamp)
        message.insert("lastSyncTimestamp"_L1, *lastSyncTimestamp);
    return message;
}

std::optional<OrMapSyncRespRootMessage> OrMapSyncRespRootMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    OrMapSyncRespRootMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("mapName"_L1, result.mapName) || !fields.hash("rootHash"_L1, result.rootHash)
        || !readTimestamp(fields, "timestamp"_L1, result.timestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OrMapSyncRespRootMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("rootHash"_L1, qint64(rootHash));
    payload.insert("timestamp"_L1, timestampToCbor(timestamp));
    return withPayload(kType, payload, envelopeTimestamp);
}

std::optional<OrMapMerkleReqBucketMessage> OrMapMerkleReqBucketMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    OrMapMerkleReqBucketMessage result;
    if (!fields.string("mapName"_L1, result.mapName) || !fields.string("path"_L1, result.path))
        return std::nullopt;
    return result;
}

QCborMap OrMapMerkleReqBucketMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("path"_L1, path);
    return withPayload(kType, payload);
}

std::optional<OrMapSyncRespBucketsMessage> OrMapSyncRespBucketsMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    OrMapSyncRespBucketsMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("mapName"_L1, result.mapName) || !fields.string("path"_L1, result.path)
        || !readBuckets(fields, "buckets"_L1, result.buckets)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OrMapSyncRespBucketsMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("path"_L1, path);
    payload.insert("buckets"_L1, bucketsToCbor(buckets));
    return withPayload(kType, payload, envelopeTimestamp);
}

std::optional<OrMapSyncRespLeafMessage> OrMapSyncRespLeafMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    OrMapSyncRespLeafMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("path"_L1, result.path)
        || !readEntries(fields, result.mapName, result.entries)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OrMapSyncRespLeafMessage::toCbor() const
{
    QCborMap payload = entriesPayload(mapName, entries);
    payload.insert("path"_L1, path);
    return withPayload(kType, payload, envelopeTimestamp);
}

std::optional<OrMapDiffRequestMessage> OrMapDiffRequestMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    OrMapDiffRequestMessage result;
    if (!fields.string("mapName"_L1, result.mapName) || !fields.stringList("keys"_L1, result.keys))
        return std::nullopt;
    return result;
}

QCborMap OrMapDiffRequestMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("mapName"_L1, mapName);
    payload.insert("keys"_L1, stringsToCbor(keys));
    return withPayload(kType, payload);
}

std::optional<OrMapDiffResponseMessage> OrMapDiffResponseMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    OrMapDiffResponseMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!readEntries(fields, result.mapName, result.entries))
        return std::nullopt;
    return result;
}

QCborMap OrMapDiffResponseMessage::toCbor() const
{
    return withPayload(kType, entriesPayload(mapName, entries), envelopeTimestamp);
}

std::optional<OrMapPushDiffMessage> OrMapPushDiffMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    OrMapPushDiffMessage result;
    if (!readEntries(fields, result.mapName, result.entries))
        return std::nullopt;
    return result;
}

QCborMap OrMapPushDiffMessage::toCbor() const
{
    return withPayload(kType, entriesPayload(mapName, entries));
}

} // namespace wingman::protocol

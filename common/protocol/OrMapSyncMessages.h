#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// OR-map sync (docs/protocol.md "OR-map sync"); conventions as in AuthMessages.h. Fields are under
// `payload` except for ORMAP_SYNC_INIT.

struct OrMapSyncInitMessage {
    static constexpr MessageType kType = MessageType::OrMapSyncInit;
    QString mapName;
    quint32 rootHash = 0;
    BucketHashes bucketHashes;
    std::optional<qint64> lastSyncTimestamp; // epoch millis

    static std::optional<OrMapSyncInitMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapSyncInitMessage &, const OrMapSyncInitMessage &) = default;
};

struct OrMapSyncRespRootMessage {
    static constexpr MessageType kType = MessageType::OrMapSyncRespRoot;
    QString mapName;
    quint32 rootHash = 0;
    crdt::Timestamp timestamp; // payload.timestamp
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<OrMapSyncRespRootMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapSyncRespRootMessage &, const OrMapSyncRespRootMessage &)
        = default;
};

struct OrMapMerkleReqBucketMessage {
    static constexpr MessageType kType = MessageType::OrMapMerkleReqBucket;
    QString mapName;
    QString path;

    static std::optional<OrMapMerkleReqBucketMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapMerkleReqBucketMessage &, const OrMapMerkleReqBucketMessage &)
        = default;
};

struct OrMapSyncRespBucketsMessage {
    static constexpr MessageType kType = MessageType::OrMapSyncRespBuckets;
    QString mapName;
    QString path;
    BucketHashes buckets;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<OrMapSyncRespBucketsMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapSyncRespBucketsMessage &, const OrMapSyncRespBucketsMessage &)
        = default;
};

struct OrMapSyncRespLeafMessage {
    static constexpr MessageType kType = MessageType::OrMapSyncRespLeaf;
    QString mapName;
    QString path;
    QList<OrMapEntry> entries;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<OrMapSyncRespLeafMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapSyncRespLeafMessage &, const OrMapSyncRespLeafMessage &)
        = default;
};

struct OrMapDiffRequestMessage {
    static constexpr MessageType kType = MessageType::OrMapDiffRequest;
    QString mapName;
    QStringList keys;

    static std::optional<OrMapDiffRequestMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapDiffRequestMessage &, const OrMapDiffRequestMessage &)
        = default;
};

struct OrMapDiffResponseMessage {
    static constexpr MessageType kType = MessageType::OrMapDiffResponse;
    QString mapName;
    QList<OrMapEntry> entries;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<OrMapDiffResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapDiffResponseMessage &, const OrMapDiffResponseMessage &)
        = default;
};

// Client -> server: the client's side of the differing keys.
struct OrMapPushDiffMessage {
    static constexpr MessageType kType = MessageType::OrMapPushDiff;
    QString mapName;
    QList<OrMapEntry> entries;

    static std::optional<OrMapPushDiffMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OrMapPushDiffMessage &, const OrMapPushDiffMessage &) = default;
};

} // namespace wingman::protocol

#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// LWW Merkle sync (docs/protocol.md "LWW Merkle sync"); conventions as in AuthMessages.h.

// Top-level fields, no payload.
struct SyncInitMessage {
    static constexpr MessageType kType = MessageType::SyncInit;
    QString mapName;
    std::optional<qint64> lastSyncTimestamp; // epoch millis

    static std::optional<SyncInitMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SyncInitMessage &, const SyncInitMessage &) = default;
};

struct SyncRespRootMessage {
    static constexpr MessageType kType = MessageType::SyncRespRoot;
    QString mapName;
    quint32 rootHash = 0;
    crdt::Timestamp timestamp; // payload.timestamp
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<SyncRespRootMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SyncRespRootMessage &, const SyncRespRootMessage &) = default;
};

struct MerkleReqBucketMessage {
    static constexpr MessageType kType = MessageType::MerkleReqBucket;
    QString mapName;
    QString path;

    static std::optional<MerkleReqBucketMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const MerkleReqBucketMessage &, const MerkleReqBucketMessage &)
        = default;
};

struct SyncRespBucketsMessage {
    static constexpr MessageType kType = MessageType::SyncRespBuckets;
    QString mapName;
    QString path;
    BucketHashes buckets; // child hex char -> hash
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<SyncRespBucketsMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SyncRespBucketsMessage &, const SyncRespBucketsMessage &)
        = default;
};

struct SyncRespLeafMessage {
    static constexpr MessageType kType = MessageType::SyncRespLeaf;
    QString mapName;
    QString path;
    QList<LeafRecord> records;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<SyncRespLeafMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    // == wire::MsgPackCodec::encode(toCbor()), built directly: packed values are copied as they
    // are.
    QByteArray encode() const;
    friend bool operator==(const SyncRespLeafMessage &, const SyncRespLeafMessage &) = default;
};

struct SyncResetRequiredMessage {
    static constexpr MessageType kType = MessageType::SyncResetRequired;
    QString mapName;
    QString reason;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<SyncResetRequiredMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SyncResetRequiredMessage &, const SyncResetRequiredMessage &)
        = default;
};

} // namespace wingman::protocol

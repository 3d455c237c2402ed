#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Live queries (docs/protocol.md "Live changes"); conventions as in AuthMessages.h. The query
// itself
// ({where?, predicate?, sort?, limit?, cursor?}) is carried as its raw map: common/query owns
// its meaning.

struct QuerySubMessage {
    static constexpr MessageType kType = MessageType::QuerySub;
    QString queryId;
    QString mapName;
    QCborMap query;

    static std::optional<QuerySubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const QuerySubMessage &, const QuerySubMessage &) = default;
};

struct QueryRespMessage {
    static constexpr MessageType kType = MessageType::QueryResp;
    QString queryId;
    QList<QueryResult> results;
    std::optional<QString> nextCursor;
    std::optional<bool> hasMore;
    std::optional<QString> cursorStatus; // valid, expired, invalid, none
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<QueryRespMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), built directly
    friend bool operator==(const QueryRespMessage &, const QueryRespMessage &) = default;
};

struct QueryUpdateMessage {
    static constexpr MessageType kType = MessageType::QueryUpdate;
    QString queryId;
    QString key;
    QCborValue value;
    QueryChange change = QueryChange::Update; // payload.type on the wire
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<QueryUpdateMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), built directly
    // The same with value given as its MessagePack encoding (value itself is not read): one
    // change fanned out to many live queries is encoded once.
    QByteArray encode(QByteArrayView encodedValue) const;
    friend bool operator==(const QueryUpdateMessage &, const QueryUpdateMessage &) = default;
};

struct QueryUnsubMessage {
    static constexpr MessageType kType = MessageType::QueryUnsub;
    QString queryId;

    static std::optional<QueryUnsubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const QueryUnsubMessage &, const QueryUnsubMessage &) = default;
};

} // namespace wingman::protocol

#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Writes and live changes (docs/protocol.md "Writes", "Live changes"); conventions as in
// AuthMessages.h.

struct ClientOpMessage {
    static constexpr MessageType kType = MessageType::ClientOp;
    ClientOp op; // the payload

    static std::optional<ClientOpMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const ClientOpMessage &, const ClientOpMessage &) = default;
};

struct OpBatchMessage {
    static constexpr MessageType kType = MessageType::OpBatch;
    QList<ClientOp> ops;
    std::optional<WriteConcern> writeConcern;
    std::optional<qint64> timeout;

    static std::optional<OpBatchMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OpBatchMessage &, const OpBatchMessage &) = default;
};

struct OpAckMessage {
    static constexpr MessageType kType = MessageType::OpAck;
    QString lastId;
    std::optional<WriteConcern> achievedLevel;
    // Wingman sends two per batch (docs/protocol.md "Wingman's ack rule"): the TopGun client
    // compares ids with lastId as strings and resumes from backpressure only on a lastId.
    std::optional<QList<OpResult>> results;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<OpAckMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), built directly
    friend bool operator==(const OpAckMessage &, const OpAckMessage &) = default;
};

struct OpRejectedMessage {
    static constexpr MessageType kType = MessageType::OpRejected;
    QString opId;
    QString reason;
    std::optional<qint64> code;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<OpRejectedMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const OpRejectedMessage &, const OpRejectedMessage &) = default;
};

struct ServerEventMessage {
    static constexpr MessageType kType = MessageType::ServerEvent;
    ServerEventPayload event; // the payload
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<ServerEventMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), built directly
    friend bool operator==(const ServerEventMessage &, const ServerEventMessage &) = default;
};

struct ServerBatchEventMessage {
    static constexpr MessageType kType = MessageType::ServerBatchEvent;
    QList<ServerEventPayload> events;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<ServerBatchEventMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), built directly
    friend bool operator==(const ServerBatchEventMessage &, const ServerBatchEventMessage &)
        = default;
};

} // namespace wingman::protocol

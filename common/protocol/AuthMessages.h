#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Connection and authentication messages (docs/protocol.md "Connection and authentication").
// Each message struct: fromCbor checks `type` and every field, naming the first wrong one in
// DecodeError; toCbor writes the wire map. `envelopeTimestamp` is the optional top-level HLC
// timestamp a server message may carry.

// Server -> client, first message on a new connection.
struct AuthRequiredMessage {
    static constexpr MessageType kType = MessageType::AuthRequired;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<AuthRequiredMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const AuthRequiredMessage &, const AuthRequiredMessage &) = default;
};

// Client -> server. The token is top-level; `payload.token` is accepted too.
struct AuthMessage {
    static constexpr MessageType kType = MessageType::Auth;
    QString token;
    std::optional<qint64> protocolVersion;

    static std::optional<AuthMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const AuthMessage &, const AuthMessage &) = default;
};

struct AuthAckMessage {
    static constexpr MessageType kType = MessageType::AuthAck;
    std::optional<qint64> protocolVersion;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<AuthAckMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const AuthAckMessage &, const AuthAckMessage &) = default;
};

struct AuthFailMessage {
    static constexpr MessageType kType = MessageType::AuthFail;
    QString error;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<AuthFailMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const AuthFailMessage &, const AuthFailMessage &) = default;
};

// Client -> server; `timestamp` here is the client's wall clock in epoch millis, not an HLC.
struct PingMessage {
    static constexpr MessageType kType = MessageType::Ping;
    std::optional<qint64> timestamp;

    static std::optional<PingMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const PingMessage &, const PingMessage &) = default;
};

// Server -> client. Deliberately has no `timestamp`: the TopGun client feeds any top-level
// timestamp into its HLC, and a number there corrupts its clock for good.
struct PongMessage {
    static constexpr MessageType kType = MessageType::Pong;
    qint64 serverTime = 0;

    static std::optional<PongMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const PongMessage &, const PongMessage &) = default;
};

} // namespace wingman::protocol

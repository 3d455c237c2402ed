#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Lifecycle and error messages (docs/protocol.md "Lifecycle messages"); conventions as in
// AuthMessages.h.

// Top-level retryAfter (ms), sent before a graceful shutdown closes the socket.
struct ShutdownPendingMessage {
    static constexpr MessageType kType = MessageType::ShutdownPending;
    qint64 retryAfter = 5000;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<ShutdownPendingMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const ShutdownPendingMessage &, const ShutdownPendingMessage &)
        = default;
};

struct ErrorMessage {
    static constexpr MessageType kType = MessageType::Error;
    qint64 code = 400;
    QString message;
    QCborValue details = QCborValue(QCborValue::Undefined); // undefined = absent
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<ErrorMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const ErrorMessage &, const ErrorMessage &) = default;
};

// Clients prune their own tombstones older than olderThan.
struct GcPruneMessage {
    static constexpr MessageType kType = MessageType::GcPrune;
    crdt::Timestamp olderThan;
    std::optional<crdt::Timestamp> envelopeTimestamp;

    static std::optional<GcPruneMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const GcPruneMessage &, const GcPruneMessage &) = default;
};

} // namespace wingman::protocol

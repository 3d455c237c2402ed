#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Topics, locks and PN counters (docs/protocol.md "Topics", "Locks", "PN counters"); conventions
// as in AuthMessages.h. Every field sits under `payload`. None carries a top-level timestamp.

struct TopicSubMessage {
    static constexpr MessageType kType = MessageType::TopicSub;
    QString topic;

    static std::optional<TopicSubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const TopicSubMessage &, const TopicSubMessage &) = default;
};

struct TopicUnsubMessage {
    static constexpr MessageType kType = MessageType::TopicUnsub;
    QString topic;

    static std::optional<TopicUnsubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const TopicUnsubMessage &, const TopicUnsubMessage &) = default;
};

struct TopicPubMessage {
    static constexpr MessageType kType = MessageType::TopicPub;
    QString topic;
    QCborValue data = QCborValue(QCborValue::Undefined); // any value; undefined = absent

    static std::optional<TopicPubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const TopicPubMessage &, const TopicPubMessage &) = default;
};

// Server -> client: one publication; `timestamp` is the server's epoch millis, in the payload.
struct TopicMessage {
    static constexpr MessageType kType = MessageType::TopicMessage;
    QString topic;
    QCborValue data = QCborValue(QCborValue::Undefined);
    std::optional<QString> publisherId;
    qint64 timestamp = 0;

    static std::optional<TopicMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const TopicMessage &, const TopicMessage &) = default;
};

struct LockRequestMessage {
    static constexpr MessageType kType = MessageType::LockRequest;
    QString requestId;
    QString name;
    std::optional<qint64> ttl; // ms

    static std::optional<LockRequestMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const LockRequestMessage &, const LockRequestMessage &) = default;
};

struct LockGrantedMessage {
    static constexpr MessageType kType = MessageType::LockGranted;
    QString requestId;
    QString name;
    qint64 fencingToken = 0;

    static std::optional<LockGrantedMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const LockGrantedMessage &, const LockGrantedMessage &) = default;
};

struct LockReleaseMessage {
    static constexpr MessageType kType = MessageType::LockRelease;
    std::optional<QString> requestId;
    QString name;
    qint64 fencingToken = 0;

    static std::optional<LockReleaseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const LockReleaseMessage &, const LockReleaseMessage &) = default;
};

struct LockReleasedMessage {
    static constexpr MessageType kType = MessageType::LockReleased;
    QString requestId;
    QString name;
    bool success = false;

    static std::optional<LockReleasedMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const LockReleasedMessage &, const LockReleasedMessage &) = default;
};

struct CounterRequestMessage {
    static constexpr MessageType kType = MessageType::CounterRequest;
    QString name;

    static std::optional<CounterRequestMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const CounterRequestMessage &, const CounterRequestMessage &) = default;
};

// `state` is carried as its map: {p, n} or {positive, negative} from clients, all four keys from
// Wingman; what the counts mean is the counter's business.
struct CounterSyncMessage {
    static constexpr MessageType kType = MessageType::CounterSync;
    QString name;
    QCborMap state;

    static std::optional<CounterSyncMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const CounterSyncMessage &, const CounterSyncMessage &) = default;
};

struct CounterResponseMessage {
    static constexpr MessageType kType = MessageType::CounterResponse;
    QString name;
    QCborMap state;

    static std::optional<CounterResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const CounterResponseMessage &, const CounterResponseMessage &)
        = default;
};

struct CounterUpdateMessage {
    static constexpr MessageType kType = MessageType::CounterUpdate;
    QString name;
    QCborMap state;

    static std::optional<CounterUpdateMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const CounterUpdateMessage &, const CounterUpdateMessage &) = default;
};

} // namespace wingman::protocol

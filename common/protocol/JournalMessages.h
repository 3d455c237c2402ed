#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// The event journal (docs/protocol.md "Event journal"); every field sits at the top level.
// Sequences travel as decimal strings: the TopGun client turns them into BigInt.

// One journaled change. type is PUT, UPDATE or DELETE.
struct JournalEvent {
    QString sequence;
    QString type;
    QString mapName;
    QString key;
    std::optional<crdt::Value> value;
    std::optional<crdt::Value> previousValue;
    crdt::Timestamp timestamp;
    QString nodeId;

    static std::optional<JournalEvent> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    // The MessagePack map, record values copied as their bytes.
    void write(wire::MsgPackWriter &out) const;
    friend bool operator==(const JournalEvent &, const JournalEvent &) = default;
};

struct JournalSubscribeMessage {
    static constexpr MessageType kType = MessageType::JournalSubscribe;
    QString requestId;
    std::optional<QString> fromSequence;
    std::optional<QString> mapName;
    std::optional<QStringList> types;

    static std::optional<JournalSubscribeMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const JournalSubscribeMessage &, const JournalSubscribeMessage &)
        = default;
};

struct JournalUnsubscribeMessage {
    static constexpr MessageType kType = MessageType::JournalUnsubscribe;
    QString subscriptionId;

    static std::optional<JournalUnsubscribeMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const JournalUnsubscribeMessage &, const JournalUnsubscribeMessage &)
        = default;
};

struct JournalEventMessage {
    static constexpr MessageType kType = MessageType::JournalEvent;
    JournalEvent event;

    static std::optional<JournalEventMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), values as stored
    friend bool operator==(const JournalEventMessage &, const JournalEventMessage &) = default;
};

struct JournalReadMessage {
    static constexpr MessageType kType = MessageType::JournalRead;
    QString requestId;
    QString fromSequence;
    std::optional<qint64> limit;
    std::optional<QString> mapName;

    static std::optional<JournalReadMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const JournalReadMessage &, const JournalReadMessage &) = default;
};

struct JournalReadResponseMessage {
    static constexpr MessageType kType = MessageType::JournalReadResponse;
    QString requestId;
    QList<JournalEvent> events;
    bool hasMore = false;

    static std::optional<JournalReadResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    QByteArray encode() const; // == wire::MsgPackCodec::encode(toCbor()), values as stored
    friend bool operator==(const JournalReadResponseMessage &, const JournalReadResponseMessage &)
        = default;
};

} // namespace wingman::protocol

#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Entry processors and conflict resolvers (docs/protocol.md "Entry processors", "Conflict
// resolvers"); conventions as in AuthMessages.h. Every field stands at the top level. The
// processor and resolver definitions are carried as sent: their shape is checked by the server,
// which answers a bad one with success:false instead of ERROR 400.

struct EntryProcessMessage {
    static constexpr MessageType kType = MessageType::EntryProcess;
    QString requestId;
    QString mapName;
    QString key;
    QCborValue processor; // {name, code, args?}

    static std::optional<EntryProcessMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const EntryProcessMessage &, const EntryProcessMessage &) = default;
};

struct EntryProcessBatchMessage {
    static constexpr MessageType kType = MessageType::EntryProcessBatch;
    QString requestId;
    QString mapName;
    QStringList keys;
    QCborValue processor;

    static std::optional<EntryProcessBatchMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const EntryProcessBatchMessage &, const EntryProcessBatchMessage &)
        = default;
};

// What one key's processor gave: also each value of ENTRY_PROCESS_BATCH_RESPONSE's results.
// result and newValue are absent when undefined.
struct EntryProcessResult {
    bool success = false;
    QCborValue result = QCborValue(QCborValue::Undefined);
    QCborValue newValue = QCborValue(QCborValue::Undefined);
    std::optional<QString> error;

    static std::optional<EntryProcessResult> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    friend bool operator==(const EntryProcessResult &, const EntryProcessResult &) = default;
};

struct EntryProcessResponseMessage {
    static constexpr MessageType kType = MessageType::EntryProcessResponse;
    QString requestId;
    bool success = false;
    QCborValue result = QCborValue(QCborValue::Undefined);
    QCborValue newValue = QCborValue(QCborValue::Undefined);
    std::optional<QString> error;

    static std::optional<EntryProcessResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const EntryProcessResponseMessage &, const EntryProcessResponseMessage &)
        = default;
};

struct EntryProcessBatchResponseMessage {
    static constexpr MessageType kType = MessageType::EntryProcessBatchResponse;
    QString requestId;
    QCborMap results; // key -> EntryProcessResult

    static std::optional<EntryProcessBatchResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(
        const EntryProcessBatchResponseMessage &, const EntryProcessBatchResponseMessage &)
        = default;
};

struct RegisterResolverMessage {
    static constexpr MessageType kType = MessageType::RegisterResolver;
    QString requestId;
    QString mapName;
    QCborValue resolver; // {name, code, priority?, keyPattern?}

    static std::optional<RegisterResolverMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const RegisterResolverMessage &, const RegisterResolverMessage &)
        = default;
};

struct UnregisterResolverMessage {
    static constexpr MessageType kType = MessageType::UnregisterResolver;
    QString requestId;
    QString mapName;
    QString resolverName;

    static std::optional<UnregisterResolverMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const UnregisterResolverMessage &, const UnregisterResolverMessage &)
        = default;
};

struct RegisterResolverResponseMessage {
    static constexpr MessageType kType = MessageType::RegisterResolverResponse;
    QString requestId;
    bool success = false;
    std::optional<QString> error;

    static std::optional<RegisterResolverResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(
        const RegisterResolverResponseMessage &, const RegisterResolverResponseMessage &)
        = default;
};

struct UnregisterResolverResponseMessage {
    static constexpr MessageType kType = MessageType::UnregisterResolverResponse;
    QString requestId;
    bool success = false;
    std::optional<QString> error;

    static std::optional<UnregisterResolverResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(
        const UnregisterResolverResponseMessage &, const UnregisterResolverResponseMessage &)
        = default;
};

struct ListResolversMessage {
    static constexpr MessageType kType = MessageType::ListResolvers;
    QString requestId;
    std::optional<QString> onlyMap; // mapName on the wire: absent lists every readable map

    static std::optional<ListResolversMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const ListResolversMessage &, const ListResolversMessage &) = default;
};

// LIST_RESOLVERS_RESPONSE resolvers[].
struct ResolverInfo {
    QString mapName;
    QString name;
    std::optional<qint64> priority;
    std::optional<QString> keyPattern;

    static std::optional<ResolverInfo> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    friend bool operator==(const ResolverInfo &, const ResolverInfo &) = default;
};

struct ListResolversResponseMessage {
    static constexpr MessageType kType = MessageType::ListResolversResponse;
    QString requestId;
    QList<ResolverInfo> resolvers;

    static std::optional<ListResolversResponseMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(
        const ListResolversResponseMessage &, const ListResolversResponseMessage &)
        = default;
};

// To the writer whose op a conflict resolver refused. timestamp is the refused op's: the client
// feeds it to its clock, so it is a Timestamp object, never a number.
struct MergeRejectedMessage {
    static constexpr MessageType kType = MessageType::MergeRejected;
    QString mapName;
    QString key;
    QCborValue attemptedValue = QCborValue(QCborValue::Null);
    QString reason;
    crdt::Timestamp timestamp;

    static std::optional<MergeRejectedMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const MergeRejectedMessage &, const MergeRejectedMessage &) = default;
};

} // namespace wingman::protocol

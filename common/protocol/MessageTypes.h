#pragma once

#include "crdt/LwwRecord.h"
#include "crdt/OrRecord.h"
#include "crdt/Timestamp.h"
#include "protocol/Enums.h"
#include "protocol/FieldPath.h"
#include "protocol/Records.h"
#include "protocol/Wire.h"

#include <QCborMap>
#include <QCborValue>
#include <QLatin1StringView>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QStringView>

#include <optional>

namespace wingman::protocol {

// Shapes shared by several messages; `path` in fromCbor as in Records.h.

// Bucket character (or path) -> 32-bit hash, as in SYNC_RESP_BUCKETS and ORMAP_SYNC_INIT.
using BucketHashes = QMap<QString, quint32>;

// One write as the client sends it (CLIENT_OP payload, OP_BATCH ops[]).
struct ClientOp {
    std::optional<QString> id; // the client's op-log sequence number, "1", "2", …
    QString mapName;
    QString key;
    std::optional<OpType> opType;
    std::optional<crdt::LwwRecord> record;
    std::optional<crdt::OrRecord> orRecord;
    std::optional<QString> orTag;
    std::optional<WriteConcern> writeConcern;
    std::optional<qint64> timeout;

    // OR ops by their opType; otherwise REMOVE, or any op whose record value is nil, removes.
    // Without opType an op carrying only an OR record adds, only an orTag removes.
    OpType effectiveType() const;
    bool isRemove() const { return effectiveType() == OpType::Remove; }

    // Besides field types, checks that the op carries what its type needs: a record for PUT,
    // an orRecord for OR_ADD, an orTag for OR_REMOVE.
    static std::optional<ClientOp> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    friend bool operator==(const ClientOp &, const ClientOp &) = default;
};

// One entry of OP_ACK results[].
struct OpResult {
    QString opId;
    bool success = false;
    WriteConcern achievedLevel = WriteConcern::Applied;
    std::optional<QString> error;

    static std::optional<OpResult> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    void write(wire::MsgPackWriter &out) const;
    friend bool operator==(const OpResult &, const OpResult &) = default;
};

// SERVER_EVENT payload, and each of SERVER_BATCH_EVENT's events.
struct ServerEventPayload {
    QString mapName;
    ServerEventType eventType = ServerEventType::Put;
    QString key;
    std::optional<crdt::LwwRecord> record;
    std::optional<crdt::OrRecord> orRecord;
    std::optional<QString> orTag;

    static std::optional<ServerEventPayload> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    void write(wire::MsgPackWriter &out) const;
    friend bool operator==(const ServerEventPayload &, const ServerEventPayload &) = default;
};

// QUERY_RESP results[].
struct QueryResult {
    QString key;
    // A record's value, packed as it is stored where it came from a map: QUERY_RESP copies it.
    crdt::Value value;

    static std::optional<QueryResult> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    void write(wire::MsgPackWriter &out) const;
    friend bool operator==(const QueryResult &, const QueryResult &) = default;
};

// SYNC_RESP_LEAF records[].
struct LeafRecord {
    QString key;
    crdt::LwwRecord record;

    static std::optional<LeafRecord> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    void write(wire::MsgPackWriter &out) const;
    friend bool operator==(const LeafRecord &, const LeafRecord &) = default;
};

// One key of an OR map as exchanged by OR-map sync: its records and its tombstoned tags.
struct OrMapEntry {
    QString key;
    QList<crdt::OrRecord> records;
    QStringList tombstones;

    static std::optional<OrMapEntry> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    friend bool operator==(const OrMapEntry &, const OrMapEntry &) = default;
};

} // namespace wingman::protocol

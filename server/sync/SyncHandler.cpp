#include "sync/SyncHandler.h"

#include "auth/SecurityPolicy.h"
#include "network/ClientConnection.h"
#include "ops/MapRegistry.h"
#include "protocol/OrMapSyncMessages.h"
#include "protocol/SyncMessages.h"
#include "query/QueryRegistry.h"
#include "storage/Storage.h"

#include <QPointer>

namespace wingman::sync {

Q_LOGGING_CATEGORY(lcSync, "wingman.sync")

namespace {

constexpr int kBadRequest = 400;
constexpr int kForbidden = 403;
constexpr int kKindMismatch = 409;

protocol::OrMapEntry orEntry(const crdt::OrMap &map, const QString &key)
{
    protocol::OrMapEntry entry;
    entry.key = key;
    entry.records = map.records(key);
    return entry;
}

} // namespace

SyncHandler::SyncHandler(ops::MapRegistry &maps, const auth::SecurityPolicy &policy,
                         query::QueryRegistry &queries, storage::Storage &storage,
                         qint64 gcAgeMs)
    : m_maps(maps)
    , m_policy(policy)
    , m_queries(queries)
    , m_storage(storage)
    , m_gcAgeMs(gcAgeMs)
{
}

bool SyncHandler::mayRead(network::ClientConnection &connection, const QString &mapName)
{
    if (m_policy.isAllowed(connection.principal(), mapName, auth::SecurityPolicy::Action::Read))
        return true;
    connection.sendError(kForbidden, QStringLiteral("Access denied: READ on %1").arg(mapName));
    return false;
}

bool SyncHandler::needsReset(network::ClientConnection &connection, const QString &mapName,
                             std::optional<qint64> lastSyncTimestamp)
{
    if (!lastSyncTimestamp || *lastSyncTimestamp <= 0)
        return false;
    const qint64 now = m_maps.hlc().clockMillis();
    if (now - *lastSyncTimestamp <= m_gcAgeMs)
        return false;
    protocol::SyncResetRequiredMessage reset;
    reset.mapName = mapName;
    reset.reason = QStringLiteral("Last sync is older than the GC horizon; tombstones may be gone");
    reset.envelopeTimestamp = m_maps.hlc().now();
    connection.send(reset.toCbor());
    return true;
}

void SyncHandler::handleSyncInit(network::ClientConnection &connection, const QCborMap &message)
{
    protocol::DecodeError error;
    const auto init = protocol::SyncInitMessage::fromCbor(message, &error);
    if (!init) {
        connection.sendError(kBadRequest, QStringLiteral("Invalid message format"));
        return;
    }
    if (!mayRead(connection, init->mapName))
        return;
    if (m_maps.kindOf(init->mapName) == ops::MapRegistry::Kind::Or) {
        connection.sendError(kKindMismatch, QStringLiteral("Map %1 is an OR map").arg(init->mapName));
        return;
    }
    m_queries.addMapListener(&connection, init->mapName);
    if (needsReset(connection, init->mapName, init->lastSyncTimestamp))
        return;

    const crdt::LwwMap *map = m_maps.findLww(init->mapName);
    protocol::SyncRespRootMessage root;
    root.mapName = init->mapName;
    root.rootHash = map ? map->merkleTree().rootHash() : 0;
    root.timestamp = m_maps.hlc().now();
    connection.send(root.toCbor());
}

void SyncHandler::handleMerkleReqBucket(network::ClientConnection &connection,
                                        const QCborMap &message)
{
    const auto request = protocol::MerkleReqBucketMessage::fromCbor(message);
    if (!request) {
        connection.sendError(kBadRequest, QStringLiteral("Invalid message format"));
        return;
    }
    if (!mayRead(connection, request->mapName))
        return;
    const crdt::LwwMap *map = m_maps.findLww(request->mapName);
    const QStringList keys = map ? map->merkleTree().keysInBucket(request->path) : QStringList();
    if (!keys.isEmpty()) {
        protocol::SyncRespLeafMessage leaf;
        leaf.mapName = request->mapName;
        leaf.path = request->path;
        leaf.records.reserve(keys.size());
        for (const QString &key : keys) {
            if (auto record = map->getRecord(key))
                leaf.records.append({key, std::move(*record)});
        }
        connection.sendEncoded(leaf.encode());
        return;
    }
    protocol::SyncRespBucketsMessage buckets;
    buckets.mapName = request->mapName;
    buckets.path = request->path;
    if (map)
        buckets.buckets = map->merkleTree().buckets(request->path);
    connection.send(buckets.toCbor());
}

void SyncHandler::handleOrMapSyncInit(network::ClientConnection &connection,
                                      const QCborMap &message)
{
    const auto init = protocol::OrMapSyncInitMessage::fromCbor(message);
    if (!init) {
        connection.sendError(kBadRequest, QStringLiteral("Invalid message format"));
        return;
    }
    if (!mayRead(connection, init->mapName))
        return;
    if (m_maps.kindOf(init->mapName) == ops::MapRegistry::Kind::Lww) {
        connection.sendError(kKindMismatch,
                             QStringLiteral("Map %1 is an LWW map").arg(init->mapName));
        return;
    }
    m_queries.addMapListener(&connection, init->mapName);
    if (needsReset(connection, init->mapName, init->lastSyncTimestamp))
        return;

    const crdt::OrMap *map = m_maps.findOr(init->mapName);
    protocol::OrMapSyncRespRootMessage root;
    root.mapName = init->mapName;
    root.rootHash = map ? map->merkleTree().rootHash() : 0;
    root.timestamp = m_maps.hlc().now();
    connection.send(root.toCbor());
}

void SyncHandler::handleOrMapMerkleReqBucket(network::ClientConnection &connection,
                                             const QCborMap &message)
{
    const auto request = protocol::OrMapMerkleReqBucketMessage::fromCbor(message);
    if (!request) {
        connection.sendError(kBadRequest, QStringLiteral("Invalid message format"));
        return;
    }
    if (!mayRead(connection, request->mapName))
        return;
    const crdt::OrMap *map = m_maps.findOr(request->mapName);
    const QStringList keys = map ? map->merkleTree().keysInBucket(request->path) : QStringList();
    if (!keys.isEmpty()) {
        protocol::OrMapSyncRespLeafMessage leaf;
        leaf.mapName = request->mapName;
        leaf.path = request->path;
        for (const QString &key : keys)
            leaf.entries.append(orEntry(*map, key));
        connection.send(leaf.toCbor());
        return;
    }
    protocol::OrMapSyncRespBucketsMessage buckets;
    buckets.mapName = request->mapName;
    buckets.path = request->path;
    if (map)
        buckets.buckets = map->merkleTree().buckets(request->path);
    connection.send(buckets.toCbor());
}

void SyncHandler::handleOrMapDiffRequest(network::ClientConnection &connection,
                                         const QCborMap &message)
{
    const auto request = protocol::OrMapDiffRequestMessage::fromCbor(message);
    if (!request) {
        connection.sendError(kBadRequest, QStringLiteral("Invalid message format"));
        return;
    }
    if (!mayRead(connection, request->mapName))
        return;
    const crdt::OrMap *map = m_maps.findOr(request->mapName);
    protocol::OrMapDiffResponseMessage response;
    response.mapName = request->mapName;
    for (const QString &key : request->keys) {
        if (map)
            response.entries.append(orEntry(*map, key));
        else
            response.entries.append({key, {}, {}});
    }
    connection.send(response.toCbor());
}

void SyncHandler::handleOrMapPushDiff(network::ClientConnection &connection,
                                      const QCborMap &message)
{
    const auto push = protocol::OrMapPushDiffMessage::fromCbor(message);
    if (!push) {
        connection.sendError(kBadRequest, QStringLiteral("Invalid message format"));
        return;
    }
    if (!m_policy.isAllowed(connection.principal(), push->mapName,
                            auth::SecurityPolicy::Action::Put)) {
        connection.sendError(kForbidden, QStringLiteral("Access denied: PUT on %1").arg(push->mapName));
        return;
    }
    crdt::OrMap *map = m_maps.orMap(push->mapName);
    if (!map) {
        connection.sendError(kKindMismatch,
                             QStringLiteral("Map %1 is an LWW map").arg(push->mapName));
        return;
    }

    QList<query::Change> changes;
    QList<storage::StorageWrite> writes;
    for (const protocol::OrMapEntry &entry : push->entries) {
        QList<crdt::OrRecord> fresh;
        for (const crdt::OrRecord &record : entry.records) {
            if (!map->isTombstoned(record.tag) && !map->records(entry.key).contains(record))
                fresh.append(record);
        }
        QStringList newTombstones;
        for (const QString &tag : entry.tombstones) {
            if (!map->isTombstoned(tag))
                newTombstones.append(tag);
        }
        if (!map->mergeKey(entry.key, entry.records, entry.tombstones).changed()
            && newTombstones.isEmpty())
            continue;
        const std::optional<QCborValue> value = map->liveValue(entry.key);
        for (const crdt::OrRecord &record : fresh) {
            if (map->isTombstoned(record.tag))
                continue;
            query::Change change{{push->mapName, protocol::ServerEventType::OrAdd, entry.key,
                                  std::nullopt, record, std::nullopt},
                                 value, std::nullopt};
            changes.append(std::move(change));
            storage::StorageWrite write;
            write.kind = storage::StorageWrite::Kind::OrPut;
            write.mapName = push->mapName;
            write.key = entry.key;
            write.orRecord = record;
            writes.append(std::move(write));
        }
        for (const QString &tag : newTombstones) {
            query::Change change{{push->mapName, protocol::ServerEventType::OrRemove, entry.key,
                                  std::nullopt, std::nullopt, tag},
                                 value, std::nullopt};
            changes.append(std::move(change));
            storage::StorageWrite write;
            write.kind = storage::StorageWrite::Kind::OrTombstone;
            write.mapName = push->mapName;
            write.key = entry.key;
            write.tag = tag;
            writes.append(std::move(write));
        }
    }
    if (changes.isEmpty())
        return;
    QPointer<network::ClientConnection> origin(&connection);
    m_storage.write(std::move(writes), [this, origin, mapName = push->mapName,
                                        changes = std::move(changes)](const QString &error) {
        if (!error.isEmpty()) {
            qCCritical(lcSync).noquote() << "storage commit failed:" << error;
            return;
        }
        m_queries.publish(mapName, changes, origin.data(), m_maps.hlc().now());
    });
}

} // namespace wingman::sync

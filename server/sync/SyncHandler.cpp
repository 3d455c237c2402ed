#include "sync/SyncHandler.h"

#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "protocol/OrMapSyncMessages.h"
#include "protocol/SyncMessages.h"

namespace wingman::sync {

Q_LOGGING_CATEGORY(lcSync, "wingman.sync")

namespace {

// What differs between syncing an LWW map and an OR map: the reply types, what a leaf holds,
// and which kind a name must not already be.
template <typename Map> struct Kind;

template <> struct Kind<crdt::LwwMap> {
    using Root = protocol::SyncRespRootMessage;
    using Buckets = protocol::SyncRespBucketsMessage;
    using Leaf = protocol::SyncRespLeafMessage;
    static constexpr auto kOther = maps::MapRegistry::Kind::Or;
    static QString otherKind() { return QStringLiteral("an OR map"); }
    static const crdt::LwwMap *find(const maps::MapRegistry &maps, const QString &name)
    {
        return maps.findLww(name);
    }
    static void fill(Leaf &leaf, const crdt::LwwMap &map, const QStringList &keys)
    {
        leaf.records.reserve(keys.size());
        for (const QString &key : keys) {
            if (auto record = map.getRecord(key))
                leaf.records.append({ key, std::move(*record) });
        }
    }
};

template <> struct Kind<crdt::OrMap> {
    using Root = protocol::OrMapSyncRespRootMessage;
    using Buckets = protocol::OrMapSyncRespBucketsMessage;
    using Leaf = protocol::OrMapSyncRespLeafMessage;
    static constexpr auto kOther = maps::MapRegistry::Kind::Lww;
    static QString otherKind() { return QStringLiteral("an LWW map"); }
    static const crdt::OrMap *find(const maps::MapRegistry &maps, const QString &name)
    {
        return maps.findOr(name);
    }
    static void fill(Leaf &leaf, const crdt::OrMap &map, const QStringList &keys)
    {
        leaf.entries.reserve(keys.size());
        for (const QString &key : keys)
            leaf.entries.append({ key, map.records(key), {} });
    }
};

} // namespace

SyncHandler::SyncHandler(maps::MapRegistry &maps, live::QueryRegistry &queries, qint64 gcAgeMs)
    : m_maps(maps)
    , m_queries(queries)
    , m_gcAgeMs(gcAgeMs)
{ }

void SyncHandler::handle(network::Session &session, const protocol::SyncInitMessage &message)
{
    init<crdt::LwwMap>(session, message);
}

void SyncHandler::handle(network::Session &session, const protocol::OrMapSyncInitMessage &message)
{
    init<crdt::OrMap>(session, message);
}

void SyncHandler::handle(network::Session &session, const protocol::MerkleReqBucketMessage &request)
{
    bucket<crdt::LwwMap>(session, request);
}

void SyncHandler::handle(
    network::Session &session, const protocol::OrMapMerkleReqBucketMessage &request)
{
    bucket<crdt::OrMap>(session, request);
}

bool SyncHandler::needsReset(
    network::Session &session, const QString &mapName, std::optional<qint64> lastSyncTimestamp)
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
    session.send(reset);
    return true;
}

template <typename Map, typename Init>
void SyncHandler::init(network::Session &session, const Init &init)
{
    if (m_maps.kindOf(init.mapName) == Kind<Map>::kOther) {
        session.sendError(protocol::ErrorCode::Conflict,
            QStringLiteral("Map %1 is %2").arg(init.mapName, Kind<Map>::otherKind()));
        return;
    }
    m_queries.addMapListener(&session, init.mapName);
    if (needsReset(session, init.mapName, init.lastSyncTimestamp))
        return;

    const Map *map = Kind<Map>::find(m_maps, init.mapName);
    typename Kind<Map>::Root root;
    root.mapName = init.mapName;
    root.rootHash = map ? map->merkleTree().rootHash() : 0;
    root.timestamp = m_maps.hlc().now();
    session.send(root);
}

template <typename Map, typename Request>
void SyncHandler::bucket(network::Session &session, const Request &request)
{
    const Map *map = Kind<Map>::find(m_maps, request.mapName);
    const QStringList keys = map ? map->merkleTree().keysInBucket(request.path) : QStringList();
    if (!keys.isEmpty()) {
        typename Kind<Map>::Leaf leaf;
        leaf.mapName = request.mapName;
        leaf.path = request.path;
        Kind<Map>::fill(leaf, *map, keys);
        session.send(leaf);
        return;
    }
    typename Kind<Map>::Buckets buckets;
    buckets.mapName = request.mapName;
    buckets.path = request.path;
    if (map)
        buckets.buckets = map->merkleTree().buckets(request.path);
    session.send(buckets);
}

void SyncHandler::handle(
    network::Session &session, const protocol::OrMapDiffRequestMessage &request)
{
    const crdt::OrMap *map = m_maps.findOr(request.mapName);
    protocol::OrMapDiffResponseMessage response;
    response.mapName = request.mapName;
    response.entries.reserve(request.keys.size());
    for (const QString &key : request.keys)
        response.entries.append({ key, map ? map->records(key) : QList<crdt::OrRecord>(), {} });
    session.send(response);
}

} // namespace wingman::sync

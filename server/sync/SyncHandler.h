#pragma once

#include <QLoggingCategory>

#include <optional>

namespace wingman::maps {
class MapRegistry;
}
namespace wingman::network {
class Session;
}
namespace wingman::live {
class QueryRegistry;
}
namespace wingman::protocol {
struct SyncInitMessage;
struct MerkleReqBucketMessage;
struct OrMapSyncInitMessage;
struct OrMapMerkleReqBucketMessage;
struct OrMapDiffRequestMessage;
} // namespace wingman::protocol

namespace wingman::sync {

Q_DECLARE_LOGGING_CATEGORY(lcSync)

// Merkle catch-up, the read side of sync, for LWW maps (SYNC_INIT, MERKLE_REQ_BUCKET) and OR
// maps (ORMAP_SYNC_INIT, ORMAP_MERKLE_REQ_BUCKET, ORMAP_DIFF_REQUEST); the router has checked
// READ on the map. A client whose last sync is older than the GC horizon is told to reset.
// Syncing a map also makes the session a listener of its changes for the rest of the
// connection. ORMAP_PUSH_DIFF is a write and takes the op path.
class SyncHandler
{
public:
    SyncHandler(maps::MapRegistry &maps, live::QueryRegistry &queries, qint64 gcAgeMs);

    void handle(network::Session &session, const protocol::SyncInitMessage &init);
    void handle(network::Session &session, const protocol::OrMapSyncInitMessage &init);
    void handle(network::Session &session, const protocol::MerkleReqBucketMessage &request);
    void handle(network::Session &session, const protocol::OrMapMerkleReqBucketMessage &request);
    void handle(network::Session &session, const protocol::OrMapDiffRequestMessage &request);

private:
    template <typename Map, typename Init> void init(network::Session &session, const Init &init);
    template <typename Map, typename Request>
    void bucket(network::Session &session, const Request &request);
    bool needsReset(
        network::Session &session, const QString &mapName, std::optional<qint64> lastSyncTimestamp);

    maps::MapRegistry &m_maps;
    live::QueryRegistry &m_queries;
    qint64 m_gcAgeMs;
};

} // namespace wingman::sync

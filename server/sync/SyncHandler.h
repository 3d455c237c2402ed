#pragma once

#include <QCborMap>
#include <QLoggingCategory>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::network {
class ClientConnection;
}
namespace wingman::ops {
class MapRegistry;
}
namespace wingman::query {
class QueryRegistry;
}
namespace wingman::storage {
class Storage;
}

namespace wingman::sync {

Q_DECLARE_LOGGING_CATEGORY(lcSync)

// Merkle catch-up for LWW maps (SYNC_INIT, MERKLE_REQ_BUCKET) and OR maps (ORMAP_SYNC_INIT,
// ORMAP_MERKLE_REQ_BUCKET, ORMAP_DIFF_REQUEST, ORMAP_PUSH_DIFF). A client whose last sync is
// older than the GC horizon is told to reset. Syncing a map also makes the connection a listener
// of its changes for the rest of the connection.
class SyncHandler
{
public:
    SyncHandler(ops::MapRegistry &maps, const auth::SecurityPolicy &policy,
                query::QueryRegistry &queries, storage::Storage &storage, qint64 gcAgeMs);

    void handleSyncInit(network::ClientConnection &connection, const QCborMap &message);
    void handleMerkleReqBucket(network::ClientConnection &connection, const QCborMap &message);
    void handleOrMapSyncInit(network::ClientConnection &connection, const QCborMap &message);
    void handleOrMapMerkleReqBucket(network::ClientConnection &connection,
                                    const QCborMap &message);
    void handleOrMapDiffRequest(network::ClientConnection &connection, const QCborMap &message);
    void handleOrMapPushDiff(network::ClientConnection &connection, const QCborMap &message);

private:
    bool mayRead(network::ClientConnection &connection, const QString &mapName);
    bool needsReset(network::ClientConnection &connection, const QString &mapName,
                    std::optional<qint64> lastSyncTimestamp);

    ops::MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    query::QueryRegistry &m_queries;
    storage::Storage &m_storage;
    qint64 m_gcAgeMs;
};

} // namespace wingman::sync

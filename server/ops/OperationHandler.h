#pragma once

#include "protocol/MessageTypes.h"
#include "query/QueryRegistry.h"

#include <QCborMap>
#include <QLoggingCategory>
#include <QObject>

namespace wingman::auth {
class SecurityPolicy;
struct Principal;
}
namespace wingman::network {
class ClientConnection;
}
namespace wingman::storage {
class Storage;
struct StorageWrite;
}

namespace wingman::ops {

Q_DECLARE_LOGGING_CATEGORY(lcOps)

class MapRegistry;

// The write path of CLIENT_OP and OP_BATCH: permission check, CRDT merge into the node's maps,
// OP_REJECTED for each refused op, OP_ACK (lastId plus one result per op) once every op of the
// batch is applied, then the changes fanned out to listeners and live queries.
class OperationHandler : public QObject
{
    Q_OBJECT
public:
    OperationHandler(MapRegistry &maps, const auth::SecurityPolicy &policy,
                     query::QueryRegistry &queries, storage::Storage &storage,
                     QObject *parent = nullptr);

    void handleClientOp(network::ClientConnection &connection, const QCborMap &message);
    void handleOpBatch(network::ClientConnection &connection, const QCborMap &message);

    quint64 appliedOps() const { return m_appliedOps; }
    quint64 rejectedOps() const { return m_rejectedOps; }

Q_SIGNALS:
    void opRejected(quint64 connectionId, const QString &opId, int code, const QString &reason);

private:
    struct Outcome {
        int code = 0; // 0: applied (a losing LWW write included), else the rejection code
        QString reason;
    };

    // What one batch changed: the fan-out per map and the writes to persist.
    struct BatchChanges {
        QHash<QString, QList<query::Change>> byMap;
        QList<storage::StorageWrite> writes;
    };

    void process(network::ClientConnection &connection, const QCborArray &ops,
                 std::optional<protocol::WriteConcern> writeConcern);
    Outcome apply(const protocol::ClientOp &op, const auth::Principal &principal,
                  BatchChanges &changes);
    Outcome applyLww(const protocol::ClientOp &op, BatchChanges &changes);
    Outcome applyOr(const protocol::ClientOp &op, BatchChanges &changes);

    MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    query::QueryRegistry &m_queries;
    storage::Storage &m_storage;
    quint64 m_appliedOps = 0;
    quint64 m_rejectedOps = 0;
};

} // namespace wingman::ops

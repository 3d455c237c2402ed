#pragma once

#include "ops/Interceptor.h"
#include "protocol/MessageTypes.h"
#include "protocol/OpBatchDecoder.h"
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

class InterceptorChain;
class MapRegistry;

// The write path of CLIENT_OP and OP_BATCH: permission check, interceptors, CRDT merge into the
// node's maps, OP_REJECTED for each refused op, OP_ACK (lastId plus one result per op) once every
// op of the batch is applied, then the changes fanned out to listeners and live queries.
class OperationHandler : public QObject
{
    Q_OBJECT
public:
    OperationHandler(MapRegistry &maps, const auth::SecurityPolicy &policy,
                     query::QueryRegistry &queries, storage::Storage &storage,
                     QObject *parent = nullptr);

    void handleClientOp(network::ClientConnection &connection, const QCborMap &message);
    void handleOpBatch(network::ClientConnection &connection, const QCborMap &message);
    // The same for ops taken straight from the frame (protocol::OpBatchDecoder).
    void handleOps(network::ClientConnection &connection, protocol::DecodedOps &&decoded);
    // Run on every permitted op before its merge, and on every applied op after its commit.
    void setInterceptors(std::shared_ptr<InterceptorChain> interceptors);

    quint64 appliedOps() const { return m_appliedOps; }
    quint64 rejectedOps() const { return m_rejectedOps; }
    quint64 droppedOps() const { return m_droppedOps; }
    quint64 acksSent() const { return m_acksSent; }

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
        // Only filled when interceptors run: the applied ops as they were applied, for onAfterOp.
        QList<protocol::ClientOp> applied;
        std::optional<ConnectionContext> context;
    };

    // Ops decoded the generic way; an op that does not decode is rejected with 400.
    void processRaw(network::ClientConnection &connection, const QCborArray &raw,
                    std::optional<protocol::WriteConcern> writeConcern);
    // invalid: empty, or per op the reason it is malformed (empty when it is not).
    void process(network::ClientConnection &connection, const QList<protocol::ClientOp> &ops,
                 const QStringList &invalid, std::optional<protocol::WriteConcern> writeConcern);
    Outcome apply(const protocol::ClientOp &op, const network::ClientConnection &connection,
                  BatchChanges &changes);
    Outcome authorize(const protocol::ClientOp &op, const auth::Principal &principal) const;
    Outcome merge(const protocol::ClientOp &op, BatchChanges &changes);
    // An op stamped beyond the node's clock plus its max drift would drag every later timestamp
    // of the node into the future.
    Outcome checkDrift(const protocol::ClientOp &op, bool orOp) const;
    Outcome applyLww(const protocol::ClientOp &op, BatchChanges &changes);
    Outcome applyOr(const protocol::ClientOp &op, BatchChanges &changes);

    MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    query::QueryRegistry &m_queries;
    storage::Storage &m_storage;
    quint64 m_appliedOps = 0;
    quint64 m_rejectedOps = 0;
    quint64 m_droppedOps = 0;
    quint64 m_acksSent = 0;
    std::shared_ptr<InterceptorChain> m_interceptors;
};

} // namespace wingman::ops

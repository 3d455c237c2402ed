#pragma once

#include "ops/ChangeSet.h"
#include "ops/Interceptor.h"
#include "protocol/MessageTypes.h"
#include "protocol/OpBatchDecoder.h"
#include "protocol/WriteMessages.h"

#include <QHash>
#include <QLoggingCategory>
#include <QObject>
#include <QPointer>

#include <deque>
#include <functional>

namespace wingman::auth {
class SecurityPolicy;
struct Principal;
} // namespace wingman::auth
namespace wingman::maps {
class MapRegistry;
}
namespace wingman::protocol {
struct OrMapPushDiffMessage;
}

namespace wingman::ops {

Q_DECLARE_LOGGING_CATEGORY(lcOps)

class Committer;
class InterceptorChain;
class OpRouter;

// The write path. Every write a client makes passes the same gates per op, in this order:
// shape (mapName, key) → permission (PUT or REMOVE on the map) → interceptors (the rate limiter
// first; an interceptor may drop, reject or rewrite, and a rewrite is authorized again) → clock
// drift → route → merge into the node's maps. The Committer then persists, acknowledges and
// publishes. CLIENT_OP and OP_BATCH answer OP_REJECTED per refused op and, per batch, the pair
// of OP_ACKs of docs/protocol.md "Wingman's ack rule"; ORMAP_PUSH_DIFF is the same writes said
// as OR-map state (OR_REMOVE per tombstone, then OR_ADD per record, merged as replica state: a
// held tag is replaced only by a newer record), and a refused part is answered with one ERROR,
// since that message has no ack.
class OperationHandler : public QObject
{
    Q_OBJECT
public:
    OperationHandler(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
        Committer &committer, const OpRouter &router, QObject *parent = nullptr);

    void handle(network::Session &session, const protocol::DecodedOps &ops);
    void handle(network::Session &session, const protocol::OrMapPushDiffMessage &push);
    // Run on every permitted op before its merge, and on every applied op after its commit.
    void setInterceptors(std::shared_ptr<InterceptorChain> interceptors);

    // What the conflict resolvers (docs/protocol.md "Conflict resolvers") made of a client's
    // LWW write, asked just before it merges: merge it as usual, count it done (they wrote
    // instead), or refuse it with a reason.
    struct LwwVerdict {
        enum class Kind { Merge, Done, Reject };
        Kind kind = Kind::Merge;
        QString reason;
    };
    using LwwGate = std::function<LwwVerdict(network::Session &, const protocol::ClientOp &)>;
    void setLwwGate(LwwGate gate) { m_lwwGate = std::move(gate); }

    quint64 appliedOps() const { return m_appliedOps; }
    quint64 rejectedOps() const { return m_rejectedOps; }
    quint64 droppedOps() const { return m_droppedOps; }
    quint64 acksSent() const { return m_acksSent; } // batches acknowledged
    // Batches handed to the Committer whose ack has not left yet (it may wait for peers).
    bool hasPendingAcks() const { return !m_pendingAcks.isEmpty(); }

Q_SIGNALS:
    void opRejected(quint64 connectionId, const QString &opId, int code, const QString &reason);
    // The last pending ack left: every batch handed to the Committer has been answered.
    void acksSettled();

private:
    struct Outcome {
        int code = 0; // 0: applied (a losing LWW write included), else the rejection code
        QString reason;
    };
    // A client op merges as a write; a pushed record as replica state.
    enum class Merge { Write, Replica };

    // What one message's ops changed, and what the after-op hooks need.
    struct Batch {
        ChangeSet changes;
        // Only filled when interceptors run: the applied ops as they were applied, for onAfterOp.
        QList<protocol::ClientOp> applied;
        std::optional<ConnectionContext> context;
    };

    Outcome apply(
        const protocol::ClientOp &op, network::Session &session, Merge merge, Batch &batch);
    Outcome authorize(const protocol::ClientOp &op, const auth::Principal &principal) const;
    Outcome merge(const protocol::ClientOp &op, Merge mode, ChangeSet &changes);
    // An op stamped beyond the node's clock plus its max drift would drag every later timestamp
    // of the node into the future.
    Outcome checkDrift(const protocol::ClientOp &op, bool orOp) const;
    Outcome mergeLww(const protocol::ClientOp &op, ChangeSet &changes);
    Outcome mergeOr(const protocol::ClientOp &op, Merge mode, ChangeSet &changes);
    // The after-op hooks of batch, to run once it is committed.
    std::function<void()> afterCommit(Batch &batch) const;
    // In a cluster an ack waits for peers, so a later batch's ack set can be met first; the
    // TopGun client takes an OP_ACK's lastId as covering every earlier op, so one session's acks
    // leave in the order its batches came. A slot is taken when a batch is handed to the
    // Committer and released with what to send (nothing, when the batch failed).
    quint64 reserveAck(quint64 session);
    void releaseAck(quint64 session, quint64 slot, std::function<void()> send);
    // Sends a batch's OP_ACK pair stamped now, in its session's turn; slot 0: the batch has none.
    void deliverAcks(const QPointer<network::Session> &origin, quint64 session, quint64 slot,
        QList<protocol::OpAckMessage> acks, const crdt::Timestamp &now);

    maps::MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    Committer &m_committer;
    const OpRouter &m_router;
    quint64 m_appliedOps = 0;
    quint64 m_rejectedOps = 0;
    quint64 m_droppedOps = 0;
    quint64 m_acksSent = 0;
    std::shared_ptr<InterceptorChain> m_interceptors;
    LwwGate m_lwwGate;
    struct PendingAck {
        quint64 slot = 0;
        std::function<void()> send;
        bool ready = false;
    };
    QHash<quint64, std::deque<PendingAck>> m_pendingAcks; // by session id
    quint64 m_nextAckSlot = 1;
};

} // namespace wingman::ops

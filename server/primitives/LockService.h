#pragma once

#include "protocol/PrimitiveMessages.h"

#include <QCborMap>
#include <QHash>
#include <QList>
#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <functional>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::crdt {
class Hlc;
}
namespace wingman::network {
class Session;
}
namespace wingman::storage {
class Storage;
}

namespace wingman::primitives {

// Locks held by client connections (docs/protocol.md "Locks"): one holder per name with a lease,
// a FIFO queue of waiting requests, and a fencing token that only ever grows. The last token of
// each name is kept in storage meta, and a new one is at least the grant's HLC in microseconds
// (docs/cluster.md §7), so tokens keep growing across restarts. LOCK_GRANTED goes out once the
// token is committed.
//
// In a cluster (setCluster) a name's queue lives on the owner of its partition: the entry node
// checks permission and forwards LOCK_REQ / LOCK_RELEASE frames; the owner answers with
// LOCK_GRANT / LOCK_RELEASED for the entry to pass on. Every member keeps each name's record
// {token, holder, lease}: the owner sends it as LOCK_TOKEN on each grant, renewal and release,
// and every node sends the records it knows on link-up, so a new owner honours the lease it takes
// over and continues above its token. An entry keeps its clients' requests until granted and
// re-sends them to the current owner after every table change (the owner ignores a requestId it
// already queued). A client that disconnects (CLIENT_GONE) or whose entry node goes down loses
// its locks and waits.
class LockService : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 kDefaultTtlMs = 10000;
    static constexpr qint64 kMinTtlMs = 1000;
    static constexpr qint64 kMaxTtlMs = 300000;
    static constexpr qint64 kQueueTimeoutMs = 30000;
    // The longest a grant waits for members to confirm its record before it goes out anyway.
    static constexpr qint64 kConfirmTimeoutMs = 5000;
    static constexpr int kSweepIntervalMs = 250;
    static constexpr int kOwnerUnavailable = 503; // ERROR code (docs/protocol.md)

    // Peer frame types (docs/cluster.md §1).
    static constexpr QLatin1StringView kRequestFrame { "LOCK_REQ" };
    static constexpr QLatin1StringView kGrantFrame { "LOCK_GRANT" };
    static constexpr QLatin1StringView kReleaseFrame { "LOCK_RELEASE" };
    static constexpr QLatin1StringView kReleasedFrame { "LOCK_RELEASED" };
    static constexpr QLatin1StringView kTokenFrame { "LOCK_TOKEN" };
    static constexpr QLatin1StringView kTokenAckFrame { "LOCK_TOKEN_ACK" };
    static constexpr QLatin1StringView kClientGoneFrame { "CLIENT_GONE" };

    struct Cluster {
        // This node is part of a cluster (see PeerBus::isClustered).
        std::function<bool()> isClustered;
        std::function<QString()> localNodeId;
        // The node whose lock table holds name; empty when it is this one (or no cluster).
        std::function<QString(const QString &name)> ownerOf;
        // Queues a frame to a member; false when it is unreachable.
        std::function<bool(const QString &nodeId, const QCborMap &frame)> send;
        // To every reachable member; returns the members it was queued to.
        std::function<QStringList(const QCborMap &frame)> broadcast;
    };

    // clock: epoch milliseconds; empty means the system clock.
    LockService(storage::Storage &storage, crdt::Hlc &hlc, const auth::SecurityPolicy &policy,
        std::function<qint64()> clock = {}, QObject *parent = nullptr);

    void setCluster(Cluster cluster) { m_cluster = std::move(cluster); }

    void handle(network::Session &session, const protocol::LockRequestMessage &message);
    void handle(network::Session &session, const protocol::LockReleaseMessage &message);
    // The connection's locks pass to their queues' heads; its waits end.
    void removeConnection(network::Session *session);
    // A lock frame from member nodeId; false when type is not one.
    bool handleFrame(const QString &nodeId, const QString &type, const QCborMap &frame);
    // A new partition table: queues of names owned elsewhere now are dropped, and this node's
    // clients' pending requests go to their names' current owners.
    void tableChanged();
    // Member nodeId was declared down (or left): its clients' locks are released, their waits end.
    void memberDown(const QString &nodeId);
    // A link to nodeId came up: it is sent every lock record known here.
    void linkUp(const QString &nodeId);
    // The link to nodeId went down: grants stop waiting for its confirmation.
    void linkDown(const QString &nodeId);

    // The last token issued for name (0 if none ever was).
    qint64 lastToken(const QString &name);
    static QString metaKey(const QString &name) { return QStringLiteral("lock/") + name; }
    // TTL missing or 0 → the default, then clamped.
    static qint64 effectiveTtl(std::optional<qint64> ttl);

private:
    // A client connection: of this node (node empty) or of another member.
    struct Holder {
        QString node;
        quint64 client = 0;
        friend bool operator==(const Holder &, const Holder &) = default;
    };
    struct Waiter {
        Holder holder;
        QString requestId;
        qint64 ttlMs = kDefaultTtlMs;
        qint64 queuedAtMs = 0;
    };
    struct Lock {
        std::optional<Holder> owner;
        qint64 expiresAtMs = 0;
        qint64 token = 0; // the last one issued
        bool released = false; // the lease of `token` was given back (not merely expired)
        qint64 activeAtMs = 0; // last seen held, waited for or changed
        QList<Waiter> queue;
    };
    // A request of a client of this node, kept until it is granted or times out.
    struct Pending {
        quint64 client = 0;
        QString requestId;
        QString name;
        qint64 ttlMs = kDefaultTtlMs;
        qint64 sinceMs = 0;
    };

    // A grant (or renewal) waiting for its token's commit and for the members it was sent to to
    // confirm its record (docs/cluster.md §7), so that whichever of them takes over honours it.
    struct Confirmation {
        quint64 id = 0;
        Holder holder;
        protocol::LockGrantedMessage granted;
        QSet<QString> awaiting;
        bool committed = false;
        qint64 sinceMs = 0;
    };

    qint64 now() const;
    bool isClustered() const { return m_cluster.isClustered && m_cluster.isClustered(); }
    // This node's table makes it the name's lock authority (always, outside a cluster). Only
    // the authority grants, so two nodes grant the same name only while their tables disagree.
    bool owns(const QString &name) const
    {
        return !m_cluster.ownerOf || m_cluster.ownerOf(name).isEmpty();
    }
    Lock &lockOf(const QString &name);
    // False, with ERROR sent, when name is empty or the principal may not PUT lock:<name>.
    bool admit(network::Session &session, const QString &name) const;
    // The owning member, or empty here; false (ERROR 503 sent) when it cannot be reached.
    bool forward(network::Session &session, const QString &name, const QCborMap &frame);
    // Hands a pending request to its name's owner (this node or a member); false, with the owner in
    // *unreachable, when it cannot be reached.
    bool submit(const Pending &pending, QString *unreachable);
    // Drops the pending request; false when there was none.
    bool removePending(quint64 client, const QString &requestId);

    // The lock table's side, for local and forwarded requests alike.
    // waitedMs: how long the request already waited on its entry (re-sent after a table change).
    void request(const Holder &holder, const QString &requestId, const QString &name, qint64 ttl,
        qint64 waitedMs);
    void release(const Holder &holder, const QString &requestId, const QString &name, qint64 token);
    // Releases what holders matching `matches` hold and drops their waits.
    void removeHolders(const std::function<bool(const Holder &)> &matches);
    // An expired lease ends; stale waiters go; a free lock passes to the queue head.
    void settle(const QString &name, Lock &lock);
    void grant(const QString &name, Lock &lock, const Waiter &waiter);
    void sendGranted(const Holder &holder, const protocol::LockGrantedMessage &granted);
    void sendReleased(const Holder &holder, const protocol::LockReleasedMessage &released);
    // Delivers a grant to a client of this node if its request is still pending.
    void deliverGranted(quint64 client, const protocol::LockGrantedMessage &granted);

    // The name's record as LOCK_TOKEN carries it.
    QCborMap stateFrame(const QString &name, const Lock &lock) const;
    // To every member; with confirmation, the frame asks for LOCK_TOKEN_ACK {ack} and the members
    // it went to are awaited. Sends the grant once confirmed (at once when not clustered).
    void broadcastState(const QString &name, const Lock &lock);
    void confirmAndGrant(const QString &name, const Lock &lock, const Holder &holder,
        const protocol::LockGrantedMessage &granted, bool committed);
    // The commit (node empty) or a member's confirmation of grant id.
    void confirmed(quint64 id, const QString &node);
    // Sends the grants no longer waiting for anything.
    void sendConfirmed();
    void applyState(const QCborMap &frame);

    void sweep();
    // Forgets names nobody holds or waits for (their token stays in storage). In a cluster the
    // record stays as long as a lease could (kMaxTtlMs): its token and release are what a peer
    // that comes back is sent, and a late copy of a released lease must find the release.
    void forgetIdle(const QString &name);
    void updateTimer();

    storage::Storage &m_storage;
    crdt::Hlc &m_hlc;
    const auth::SecurityPolicy &m_policy;
    std::function<qint64()> m_clock;
    Cluster m_cluster;
    QHash<QString, Lock> m_locks;
    QList<Pending> m_pending;
    QList<Confirmation> m_confirming;
    quint64 m_nextConfirmation = 1;
    QHash<quint64, network::Session *> m_sessions; // local clients that asked for a lock
    QTimer m_sweep;
};

} // namespace wingman::primitives

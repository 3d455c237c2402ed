#pragma once

#include "protocol/PrimitiveMessages.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
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

// Distributed-style locks held by client connections (docs/protocol.md "Locks"): one owner per
// name with a lease, a FIFO queue of waiting requests, and a fencing token that only ever grows.
// The last token of each name is kept in storage meta, and a new one is at least the grant's HLC
// in microseconds (docs/cluster.md §7), so tokens keep growing across restarts. LOCK_GRANTED
// goes out once the token is committed.
class LockService : public QObject
{
    Q_OBJECT
public:
    static constexpr qint64 kDefaultTtlMs = 10000;
    static constexpr qint64 kMinTtlMs = 1000;
    static constexpr qint64 kMaxTtlMs = 300000;
    static constexpr qint64 kQueueTimeoutMs = 30000;
    static constexpr int kSweepIntervalMs = 250;

    // clock: epoch milliseconds; empty means the system clock.
    LockService(storage::Storage &storage, crdt::Hlc &hlc, const auth::SecurityPolicy &policy,
        std::function<qint64()> clock = {}, QObject *parent = nullptr);

    void handle(network::Session &session, const protocol::LockRequestMessage &message);
    void handle(network::Session &session, const protocol::LockReleaseMessage &message);
    // The connection's locks pass to their queues' heads; its waits end.
    void removeConnection(network::Session *session);

    // The last token issued for name (0 if none ever was).
    qint64 lastToken(const QString &name);
    static QString metaKey(const QString &name) { return QStringLiteral("lock/") + name; }
    // TTL missing or 0 → the default, then clamped.
    static qint64 effectiveTtl(std::optional<qint64> ttl);

private:
    struct Waiter {
        network::Session *session = nullptr;
        QString requestId;
        qint64 ttlMs = kDefaultTtlMs;
        qint64 queuedAtMs = 0;
    };
    struct Lock {
        network::Session *owner = nullptr;
        qint64 expiresAtMs = 0;
        qint64 token = 0; // the last one issued
        QList<Waiter> queue;
    };

    qint64 now() const;
    Lock &lockOf(const QString &name);
    // False, with ERROR sent, when name is empty or the principal may not PUT lock:<name>.
    bool admit(network::Session &session, const QString &name) const;
    // An expired lease ends; stale waiters go; a free lock passes to the queue head.
    void settle(const QString &name, Lock &lock);
    void grant(const QString &name, Lock &lock, const Waiter &waiter);
    void sweep();
    // Forgets names nobody holds or waits for (their token stays in storage).
    void forgetIdle(const QString &name);
    void updateTimer();

    storage::Storage &m_storage;
    crdt::Hlc &m_hlc;
    const auth::SecurityPolicy &m_policy;
    std::function<qint64()> m_clock;
    QHash<QString, Lock> m_locks;
    QTimer m_sweep;
};

} // namespace wingman::primitives

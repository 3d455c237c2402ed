#include "primitives/LockService.h"

#include "auth/SecurityPolicy.h"
#include "crdt/Hlc.h"
#include "network/Session.h"
#include "primitives/PrimitivesLogging.h"
#include "storage/Storage.h"

#include <QDateTime>

#include <algorithm>

namespace wingman::primitives {

using protocol::ErrorCode;

LockService::LockService(storage::Storage &storage, crdt::Hlc &hlc,
    const auth::SecurityPolicy &policy, std::function<qint64()> clock, QObject *parent)
    : QObject(parent)
    , m_storage(storage)
    , m_hlc(hlc)
    , m_policy(policy)
    , m_clock(std::move(clock))
{
    m_sweep.setInterval(kSweepIntervalMs);
    connect(&m_sweep, &QTimer::timeout, this, &LockService::sweep);
}

qint64 LockService::now() const
{
    return m_clock ? m_clock() : QDateTime::currentMSecsSinceEpoch();
}

qint64 LockService::effectiveTtl(std::optional<qint64> ttl)
{
    const qint64 asked = ttl.value_or(0) == 0 ? kDefaultTtlMs : *ttl;
    return std::clamp(asked, kMinTtlMs, kMaxTtlMs);
}

LockService::Lock &LockService::lockOf(const QString &name)
{
    auto it = m_locks.find(name);
    if (it == m_locks.end()) {
        it = m_locks.insert(name, Lock {});
        it->token = m_storage.loadMeta(metaKey(name)).toLongLong();
    }
    return *it;
}

qint64 LockService::lastToken(const QString &name)
{
    const auto it = m_locks.constFind(name);
    return it != m_locks.cend() ? it->token : m_storage.loadMeta(metaKey(name)).toLongLong();
}

bool LockService::admit(network::Session &session, const QString &name) const
{
    if (name.isEmpty()) {
        session.sendError(ErrorCode::BadRequest, QStringLiteral("Invalid lock name"));
        return false;
    }
    if (!m_policy.isAllowed(session.principal(), QStringLiteral("lock:") + name,
            auth::SecurityPolicy::Action::Put)) {
        session.sendError(
            ErrorCode::Forbidden, QStringLiteral("Access Denied for lock %1").arg(name));
        return false;
    }
    return true;
}

void LockService::handle(network::Session &session, const protocol::LockRequestMessage &message)
{
    if (!admit(session, message.name))
        return;
    Lock &lock = lockOf(message.name);
    settle(message.name, lock);
    const qint64 ttl = effectiveTtl(message.ttl);
    const qint64 at = now();
    if (lock.owner == &session) {
        lock.expiresAtMs = std::max(lock.expiresAtMs, at + ttl);
        session.send(protocol::LockGrantedMessage { message.requestId, message.name, lock.token });
        return;
    }
    const Waiter waiter { &session, message.requestId, ttl, at };
    if (!lock.owner && lock.queue.isEmpty())
        grant(message.name, lock, waiter);
    else
        lock.queue.append(waiter);
    updateTimer();
}

void LockService::handle(network::Session &session, const protocol::LockReleaseMessage &message)
{
    if (!admit(session, message.name))
        return;
    Lock &lock = lockOf(message.name);
    settle(message.name, lock);
    const bool success = lock.owner == &session && lock.token == message.fencingToken;
    session.send(protocol::LockReleasedMessage {
        message.requestId.value_or(QString()), message.name, success });
    if (success) {
        lock.owner = nullptr;
        lock.expiresAtMs = 0;
        settle(message.name, lock);
    }
    forgetIdle(message.name);
    updateTimer();
}

void LockService::settle(const QString &name, Lock &lock)
{
    const qint64 at = now();
    if (lock.owner && lock.expiresAtMs <= at) {
        qCDebug(lcPrimitives) << "lock" << name << "lease of client" << lock.owner->id()
                              << "expired";
        lock.owner = nullptr;
    }
    lock.queue.removeIf(
        [at](const Waiter &waiter) { return at - waiter.queuedAtMs > kQueueTimeoutMs; });
    if (!lock.owner && !lock.queue.isEmpty())
        grant(name, lock, lock.queue.takeFirst());
}

void LockService::grant(const QString &name, Lock &lock, const Waiter &waiter)
{
    const crdt::Timestamp stamp = m_hlc.now();
    lock.token
        = std::max(lock.token + 1, stamp.millis * 1000 + std::min<qint64>(stamp.counter, 999));
    lock.owner = waiter.session;
    lock.expiresAtMs = now() + waiter.ttlMs;
    m_storage.storeMeta(metaKey(name), QString::number(lock.token));
    // An empty write completes after the group that commits the meta value above.
    m_storage.write({},
        [session = QPointer<network::Session>(waiter.session),
            granted = protocol::LockGrantedMessage { waiter.requestId, name, lock.token }](
            const QString &error) {
            if (!error.isEmpty()) {
                qCWarning(lcPrimitives).noquote()
                    << "lock" << granted.name << "token not stored:" << error;
            }
            if (session)
                session->send(granted);
        });
}

void LockService::sweep()
{
    const QStringList names = m_locks.keys();
    for (const QString &name : names) {
        auto it = m_locks.find(name);
        if (it == m_locks.end())
            continue;
        settle(name, *it);
        forgetIdle(name);
    }
    updateTimer();
}

void LockService::removeConnection(network::Session *session)
{
    const QStringList names = m_locks.keys();
    for (const QString &name : names) {
        auto it = m_locks.find(name);
        if (it == m_locks.end())
            continue;
        it->queue.removeIf([session](const Waiter &waiter) { return waiter.session == session; });
        if (it->owner == session) {
            it->owner = nullptr;
            it->expiresAtMs = 0;
        }
        settle(name, *it);
        forgetIdle(name);
    }
    updateTimer();
}

void LockService::forgetIdle(const QString &name)
{
    const auto it = m_locks.constFind(name);
    if (it != m_locks.cend() && !it->owner && it->queue.isEmpty())
        m_locks.erase(it);
}

void LockService::updateTimer()
{
    if (m_locks.isEmpty())
        m_sweep.stop();
    else if (!m_sweep.isActive())
        m_sweep.start();
}

} // namespace wingman::primitives

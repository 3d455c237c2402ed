#include "primitives/LockService.h"

#include "auth/SecurityPolicy.h"
#include "crdt/Hlc.h"
#include "network/Session.h"
#include "primitives/PrimitivesLogging.h"
#include "storage/Storage.h"

#include <QDateTime>
#include <QPointer>

#include <algorithm>

namespace wingman::primitives {

using protocol::ErrorCode;

namespace {

const QString kRequestId = QStringLiteral("requestId");
const QString kName = QStringLiteral("name");
const QString kTtl = QStringLiteral("ttl");
const QString kToken = QStringLiteral("fencingToken");
const QString kSuccess = QStringLiteral("success");
const QString kClientId = QStringLiteral("clientId");

QCborMap frame(QLatin1StringView type, std::initializer_list<QPair<QCborValue, QCborValue>> fields)
{
    QCborMap map { { QStringLiteral("type"), type } };
    for (const auto &field : fields)
        map.insert(field.first, field.second);
    return map;
}

qint64 numberOf(const QCborValue &value)
{
    return value.isDouble() ? qint64(value.toDouble()) : value.toInteger();
}

} // namespace

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

bool LockService::forward(network::Session &session, const QString &name, const QCborMap &frame)
{
    const QString owner = m_cluster.ownerOf ? m_cluster.ownerOf(name) : QString();
    if (owner.isEmpty())
        return false;
    m_sessions.insert(session.id(), &session);
    if (!m_cluster.send(owner, frame)) {
        session.sendError(
            kOwnerUnavailable, QStringLiteral("Lock owner %1 is unavailable").arg(owner));
    }
    return true;
}

void LockService::handle(network::Session &session, const protocol::LockRequestMessage &message)
{
    if (!admit(session, message.name))
        return;
    const qint64 ttl = effectiveTtl(message.ttl);
    if (forward(session, message.name,
            frame(kRequestFrame,
                { { kRequestId, message.requestId }, { kName, message.name }, { kTtl, ttl },
                    { kClientId, qint64(session.id()) } }))) {
        return;
    }
    m_sessions.insert(session.id(), &session);
    request(Holder { {}, session.id() }, message.requestId, message.name, ttl);
}

void LockService::handle(network::Session &session, const protocol::LockReleaseMessage &message)
{
    if (!admit(session, message.name))
        return;
    const QString requestId = message.requestId.value_or(QString());
    if (forward(session, message.name,
            frame(kReleaseFrame,
                { { kRequestId, requestId }, { kName, message.name },
                    { kToken, message.fencingToken }, { kClientId, qint64(session.id()) } }))) {
        return;
    }
    m_sessions.insert(session.id(), &session);
    release(Holder { {}, session.id() }, requestId, message.name, message.fencingToken);
}

void LockService::request(
    const Holder &holder, const QString &requestId, const QString &name, qint64 ttl)
{
    Lock &lock = lockOf(name);
    settle(name, lock);
    const qint64 at = now();
    if (lock.owner == holder) {
        lock.expiresAtMs = std::max(lock.expiresAtMs, at + ttl);
        sendGranted(holder, protocol::LockGrantedMessage { requestId, name, lock.token });
        return;
    }
    const Waiter waiter { holder, requestId, ttl, at };
    if (!lock.owner && lock.queue.isEmpty())
        grant(name, lock, waiter);
    else
        lock.queue.append(waiter);
    updateTimer();
}

void LockService::release(
    const Holder &holder, const QString &requestId, const QString &name, qint64 token)
{
    Lock &lock = lockOf(name);
    settle(name, lock);
    const bool success = lock.owner == holder && lock.token == token;
    sendReleased(holder, protocol::LockReleasedMessage { requestId, name, success });
    if (success) {
        lock.owner.reset();
        lock.expiresAtMs = 0;
        settle(name, lock);
    }
    forgetIdle(name);
    updateTimer();
}

void LockService::settle(const QString &name, Lock &lock)
{
    const qint64 at = now();
    if (lock.owner && lock.expiresAtMs <= at) {
        qCDebug(lcPrimitives) << "lock" << name << "lease of client" << lock.owner->client
                              << "expired";
        lock.owner.reset();
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
    lock.owner = waiter.holder;
    lock.expiresAtMs = now() + waiter.ttlMs;
    m_storage.storeMeta(metaKey(name), QString::number(lock.token));
    if (m_cluster.broadcast)
        m_cluster.broadcast(frame(kTokenFrame, { { kName, name }, { kToken, lock.token } }));
    // An empty write completes after the group that commits the meta value above.
    m_storage.write({},
        [service = QPointer<LockService>(this), holder = waiter.holder,
            granted = protocol::LockGrantedMessage { waiter.requestId, name, lock.token }](
            const QString &error) {
            if (!error.isEmpty()) {
                qCWarning(lcPrimitives).noquote()
                    << "lock" << granted.name << "token not stored:" << error;
            }
            if (service)
                service->sendGranted(holder, granted);
        });
}

void LockService::sendGranted(const Holder &holder, const protocol::LockGrantedMessage &granted)
{
    if (holder.node.isEmpty()) {
        if (network::Session *session = m_sessions.value(holder.client))
            session->send(granted);
        return;
    }
    if (m_cluster.send) {
        m_cluster.send(holder.node,
            frame(kGrantFrame,
                { { kRequestId, granted.requestId }, { kName, granted.name },
                    { kToken, granted.fencingToken }, { kClientId, qint64(holder.client) } }));
    }
}

void LockService::sendReleased(const Holder &holder, const protocol::LockReleasedMessage &released)
{
    if (holder.node.isEmpty()) {
        if (network::Session *session = m_sessions.value(holder.client))
            session->send(released);
        return;
    }
    if (m_cluster.send) {
        m_cluster.send(holder.node,
            frame(kReleasedFrame,
                { { kRequestId, released.requestId }, { kName, released.name },
                    { kSuccess, released.success }, { kClientId, qint64(holder.client) } }));
    }
}

bool LockService::handleFrame(const QString &nodeId, const QString &type, const QCborMap &frame)
{
    const Holder holder { nodeId, quint64(numberOf(frame.value(kClientId))) };
    const QString name = frame.value(kName).toString();
    const QString requestId = frame.value(kRequestId).toString();
    if (type == kRequestFrame) {
        request(holder, requestId, name, effectiveTtl(numberOf(frame.value(kTtl))));
    } else if (type == kReleaseFrame) {
        release(holder, requestId, name, numberOf(frame.value(kToken)));
    } else if (type == kClientGoneFrame) {
        removeHolder(holder);
    } else if (type == kGrantFrame) {
        if (network::Session *session = m_sessions.value(holder.client)) {
            session->send(
                protocol::LockGrantedMessage { requestId, name, numberOf(frame.value(kToken)) });
        }
    } else if (type == kReleasedFrame) {
        if (network::Session *session = m_sessions.value(holder.client)) {
            session->send(
                protocol::LockReleasedMessage { requestId, name, frame.value(kSuccess).toBool() });
        }
    } else if (type == kTokenFrame) {
        const qint64 token = numberOf(frame.value(kToken));
        if (token > lastToken(name)) {
            m_storage.storeMeta(metaKey(name), QString::number(token));
            if (auto it = m_locks.find(name); it != m_locks.end())
                it->token = token;
        }
    } else {
        return false;
    }
    return true;
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
    if (!m_sessions.remove(session->id()))
        return;
    removeHolder(Holder { {}, session->id() });
    if (m_cluster.broadcast)
        m_cluster.broadcast(frame(kClientGoneFrame, { { kClientId, qint64(session->id()) } }));
}

void LockService::removeHolder(const Holder &holder)
{
    const QStringList names = m_locks.keys();
    for (const QString &name : names) {
        auto it = m_locks.find(name);
        if (it == m_locks.end())
            continue;
        it->queue.removeIf([&holder](const Waiter &waiter) { return waiter.holder == holder; });
        if (it->owner == holder) {
            it->owner.reset();
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

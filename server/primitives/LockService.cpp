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
const QString kWaited = QStringLiteral("waited");
const QString kToken = QStringLiteral("fencingToken");
const QString kSuccess = QStringLiteral("success");
const QString kClientId = QStringLiteral("clientId");
const QString kNode = QStringLiteral("node");
const QString kReleased = QStringLiteral("released");
const QString kAck = QStringLiteral("ack");

// An entry keeps a request a little longer than the owner queues it, so that a grant on its way
// still finds it.
constexpr qint64 kPendingTimeoutMs = LockService::kQueueTimeoutMs + 5000;

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
        it->activeAtMs = now();
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

bool LockService::submit(const Pending &pending, QString *unreachable)
{
    const QString owner = m_cluster.ownerOf ? m_cluster.ownerOf(pending.name) : QString();
    if (owner.isEmpty()) {
        request(Holder { {}, pending.client }, pending.requestId, pending.name, pending.ttlMs, 0);
        return true;
    }
    const bool sent = m_cluster.send(owner,
        frame(kRequestFrame,
            { { kRequestId, pending.requestId }, { kName, pending.name }, { kTtl, pending.ttlMs },
                { kWaited, now() - pending.sinceMs }, { kClientId, qint64(pending.client) } }));
    if (!sent && unreachable)
        *unreachable = owner;
    return sent;
}

bool LockService::removePending(quint64 client, const QString &requestId)
{
    return m_pending.removeIf([client, &requestId](const Pending &pending) {
        return pending.client == client && pending.requestId == requestId;
    }) > 0;
}

void LockService::handle(network::Session &session, const protocol::LockRequestMessage &message)
{
    if (!admit(session, message.name))
        return;
    m_sessions.insert(session.id(), &session);
    removePending(session.id(), message.requestId);
    const Pending pending { session.id(), message.requestId, message.name,
        effectiveTtl(message.ttl), now() };
    m_pending.append(pending);
    QString unreachable;
    if (!submit(pending, &unreachable)) {
        removePending(pending.client, pending.requestId);
        session.sendError(
            kOwnerUnavailable, QStringLiteral("Lock owner %1 is unavailable").arg(unreachable));
    }
    updateTimer();
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

void LockService::request(const Holder &holder, const QString &requestId, const QString &name,
    qint64 ttl, qint64 waitedMs)
{
    Lock &lock = lockOf(name);
    settle(name, lock);
    const qint64 at = now();
    if (lock.owner == holder) {
        lock.expiresAtMs = std::max(lock.expiresAtMs, at + ttl);
        confirmAndGrant(
            name, lock, holder, protocol::LockGrantedMessage { requestId, name, lock.token }, true);
        return;
    }
    // A request re-sent after a table change is queued once.
    if (std::any_of(lock.queue.cbegin(), lock.queue.cend(), [&](const Waiter &waiter) {
            return waiter.holder == holder && waiter.requestId == requestId;
        })) {
        return;
    }
    const Waiter waiter { holder, requestId, ttl, at - std::clamp<qint64>(waitedMs, 0, at) };
    if (!lock.owner && lock.queue.isEmpty() && owns(name))
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
        lock.released = true;
        broadcastState(name, lock);
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
    if (!lock.owner && !lock.queue.isEmpty() && owns(name))
        grant(name, lock, lock.queue.takeFirst());
    if (lock.owner || !lock.queue.isEmpty())
        lock.activeAtMs = at;
}

void LockService::grant(const QString &name, Lock &lock, const Waiter &waiter)
{
    const crdt::Timestamp stamp = m_hlc.now();
    lock.token
        = std::max(lock.token + 1, stamp.millis * 1000 + std::min<qint64>(stamp.counter, 999));
    lock.owner = waiter.holder;
    lock.expiresAtMs = now() + waiter.ttlMs;
    lock.released = false;
    m_storage.storeMeta(metaKey(name), QString::number(lock.token));
    const quint64 id = m_nextConfirmation;
    confirmAndGrant(name, lock, waiter.holder,
        protocol::LockGrantedMessage { waiter.requestId, name, lock.token }, false);
    // An empty write completes after the group that commits the meta value above.
    m_storage.write({}, [service = QPointer<LockService>(this), id, name](const QString &error) {
        if (!error.isEmpty())
            qCWarning(lcPrimitives).noquote() << "lock" << name << "token not stored:" << error;
        if (service)
            service->confirmed(id, {});
    });
}

void LockService::confirmAndGrant(const QString &name, const Lock &lock, const Holder &holder,
    const protocol::LockGrantedMessage &granted, bool committed)
{
    Confirmation confirmation { m_nextConfirmation++, holder, granted, {}, committed, now() };
    if (isClustered() && m_cluster.broadcast) {
        QCborMap state = stateFrame(name, lock);
        state.insert(kAck, qint64(confirmation.id));
        const QStringList reached = m_cluster.broadcast(state);
        confirmation.awaiting = QSet<QString>(reached.cbegin(), reached.cend());
    }
    m_confirming.append(confirmation);
    sendConfirmed();
    updateTimer();
}

void LockService::confirmed(quint64 id, const QString &node)
{
    for (Confirmation &confirmation : m_confirming) {
        if (confirmation.id != id)
            continue;
        if (node.isEmpty())
            confirmation.committed = true;
        else
            confirmation.awaiting.remove(node);
    }
    sendConfirmed();
}

void LockService::sendConfirmed()
{
    const qint64 at = now();
    QList<Confirmation> ready;
    m_confirming.removeIf([&](const Confirmation &confirmation) {
        const bool late = at - confirmation.sinceMs > kConfirmTimeoutMs;
        if (!confirmation.committed || (!confirmation.awaiting.isEmpty() && !late))
            return false;
        if (!confirmation.awaiting.isEmpty()) {
            qCWarning(lcPrimitives).noquote()
                << "lock" << confirmation.granted.name << "granted unconfirmed by"
                << QStringList(confirmation.awaiting.cbegin(), confirmation.awaiting.cend());
        }
        ready.append(confirmation);
        return true;
    });
    for (const Confirmation &confirmation : ready)
        sendGranted(confirmation.holder, confirmation.granted);
    updateTimer();
}

void LockService::sendGranted(const Holder &holder, const protocol::LockGrantedMessage &granted)
{
    if (holder.node.isEmpty()) {
        deliverGranted(holder.client, granted);
        return;
    }
    if (m_cluster.send) {
        m_cluster.send(holder.node,
            frame(kGrantFrame,
                { { kRequestId, granted.requestId }, { kName, granted.name },
                    { kToken, granted.fencingToken }, { kClientId, qint64(holder.client) } }));
    }
}

void LockService::deliverGranted(quint64 client, const protocol::LockGrantedMessage &granted)
{
    // A request re-sent after a table change may be granted twice; the client hears it once.
    if (!removePending(client, granted.requestId))
        return;
    if (network::Session *session = m_sessions.value(client))
        session->send(granted);
    updateTimer();
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
        request(holder, requestId, name, effectiveTtl(numberOf(frame.value(kTtl))),
            numberOf(frame.value(kWaited)));
    } else if (type == kReleaseFrame) {
        release(holder, requestId, name, numberOf(frame.value(kToken)));
    } else if (type == kClientGoneFrame) {
        removeHolders([&holder](const Holder &held) { return held == holder; });
    } else if (type == kGrantFrame) {
        deliverGranted(holder.client,
            protocol::LockGrantedMessage { requestId, name, numberOf(frame.value(kToken)) });
    } else if (type == kReleasedFrame) {
        if (network::Session *session = m_sessions.value(holder.client)) {
            session->send(
                protocol::LockReleasedMessage { requestId, name, frame.value(kSuccess).toBool() });
        }
    } else if (type == kTokenFrame) {
        applyState(frame);
        if (frame.contains(kAck) && m_cluster.send) {
            m_cluster.send(nodeId,
                QCborMap {
                    { QStringLiteral("type"), kTokenAckFrame }, { kAck, frame.value(kAck) } });
        }
    } else if (type == kTokenAckFrame) {
        confirmed(quint64(numberOf(frame.value(kAck))), nodeId);
    } else {
        return false;
    }
    return true;
}

QCborMap LockService::stateFrame(const QString &name, const Lock &lock) const
{
    QCborMap state = frame(kTokenFrame, { { kName, name }, { kToken, lock.token } });
    const qint64 at = now();
    if (lock.owner && lock.expiresAtMs > at) {
        const QString node = lock.owner->node.isEmpty() && m_cluster.localNodeId
            ? m_cluster.localNodeId()
            : lock.owner->node;
        state.insert(kNode, node);
        state.insert(kClientId, qint64(lock.owner->client));
        // The lease as time left, so that clocks of members need not agree.
        state.insert(kTtl, lock.expiresAtMs - at);
    } else if (lock.released) {
        state.insert(kReleased, true);
    }
    return state;
}

void LockService::broadcastState(const QString &name, const Lock &lock)
{
    if (isClustered() && m_cluster.broadcast)
        m_cluster.broadcast(stateFrame(name, lock));
}

void LockService::applyState(const QCborMap &frame)
{
    const QString name = frame.value(kName).toString();
    const qint64 token = numberOf(frame.value(kToken));
    if (name.isEmpty() || token <= 0)
        return;
    Lock &lock = lockOf(name);
    if (token < lock.token)
        return;
    lock.activeAtMs = now();
    if (token > lock.token) {
        lock.token = token;
        lock.owner.reset();
        lock.expiresAtMs = 0;
        lock.released = false;
        m_storage.storeMeta(metaKey(name), QString::number(token));
    }
    const qint64 ttl = numberOf(frame.value(kTtl));
    if (frame.value(kReleased).toBool()) {
        lock.owner.reset();
        lock.expiresAtMs = 0;
        lock.released = true;
    } else if (frame.contains(kNode) && ttl > 0 && !lock.released) {
        const QString node = frame.value(kNode).toString();
        const bool here = m_cluster.localNodeId && node == m_cluster.localNodeId();
        const Holder holder { here ? QString() : node, quint64(numberOf(frame.value(kClientId))) };
        if (here && !m_sessions.contains(holder.client)) {
            // A client of this node that is gone (or of its previous run): its locks end.
            if (m_cluster.broadcast) {
                m_cluster.broadcast(QCborMap { { QStringLiteral("type"), kClientGoneFrame },
                    { kClientId, qint64(holder.client) } });
            }
        } else if (!lock.owner || *lock.owner == holder) {
            lock.owner = holder;
            lock.expiresAtMs = std::max(lock.expiresAtMs, now() + ttl);
        }
    }
    settle(name, lock);
    updateTimer();
}

void LockService::tableChanged()
{
    if (!isClustered())
        return;
    const QStringList names = m_locks.keys();
    for (const QString &name : names) {
        auto it = m_locks.find(name);
        if (it == m_locks.end() || it->queue.isEmpty())
            continue;
        if (owns(name)) {
            // Requests that came before this node's table made it the owner.
            settle(name, *it);
        } else {
            // The new owner's queue takes them: their entries re-send them.
            it->queue.clear();
        }
    }
    const QList<Pending> pending = m_pending;
    for (const Pending &request : pending) {
        const bool stillPending
            = std::any_of(m_pending.cbegin(), m_pending.cend(), [&request](const Pending &p) {
                  return p.client == request.client && p.requestId == request.requestId;
              });
        if (stillPending)
            submit(request, nullptr);
    }
    updateTimer();
}

void LockService::memberDown(const QString &nodeId)
{
    if (nodeId.isEmpty())
        return;
    qCDebug(lcPrimitives) << "member" << nodeId << "down: its clients' locks are released";
    removeHolders([&nodeId](const Holder &holder) { return holder.node == nodeId; });
    linkDown(nodeId);
}

void LockService::linkDown(const QString &nodeId)
{
    for (Confirmation &confirmation : m_confirming)
        confirmation.awaiting.remove(nodeId);
    sendConfirmed();
}

void LockService::linkUp(const QString &nodeId)
{
    if (!m_cluster.send)
        return;
    for (auto it = m_locks.cbegin(); it != m_locks.cend(); ++it) {
        if (it->token > 0)
            m_cluster.send(nodeId, stateFrame(it.key(), *it));
    }
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
    const qint64 at = now();
    m_pending.removeIf(
        [at](const Pending &pending) { return at - pending.sinceMs > kPendingTimeoutMs; });
    sendConfirmed();
}

void LockService::removeConnection(network::Session *session)
{
    const quint64 id = session->id();
    m_pending.removeIf([id](const Pending &pending) { return pending.client == id; });
    if (!m_sessions.remove(id))
        return;
    removeHolders(
        [id](const Holder &holder) { return holder.node.isEmpty() && holder.client == id; });
    if (m_cluster.broadcast)
        m_cluster.broadcast(frame(kClientGoneFrame, { { kClientId, qint64(id) } }));
}

void LockService::removeHolders(const std::function<bool(const Holder &)> &matches)
{
    const QStringList names = m_locks.keys();
    for (const QString &name : names) {
        auto it = m_locks.find(name);
        if (it == m_locks.end())
            continue;
        it->queue.removeIf([&matches](const Waiter &waiter) { return matches(waiter.holder); });
        if (it->owner && matches(*it->owner)) {
            it->owner.reset();
            it->expiresAtMs = 0;
            it->released = true;
            // The owner tells the members, whose own notice may have come before the grant.
            if (owns(name))
                broadcastState(name, *it);
        }
        settle(name, *it);
        forgetIdle(name);
    }
    updateTimer();
}

void LockService::forgetIdle(const QString &name)
{
    const auto it = m_locks.constFind(name);
    if (it == m_locks.cend() || it->owner || !it->queue.isEmpty())
        return;
    if (!isClustered() || now() - it->activeAtMs > kMaxTtlMs)
        m_locks.erase(it);
}

void LockService::updateTimer()
{
    const bool active = !m_pending.isEmpty() || !m_confirming.isEmpty() || !m_locks.isEmpty();
    if (!active)
        m_sweep.stop();
    else if (!m_sweep.isActive())
        m_sweep.start();
}

} // namespace wingman::primitives

#include "ops/OperationHandler.h"

#include "auth/SecurityPolicy.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "ops/Committer.h"
#include "ops/InterceptorChain.h"
#include "ops/OpRouter.h"
#include "protocol/OrMapSyncMessages.h"
#include "protocol/WriteMessages.h"

#include <QPointer>

namespace wingman::ops {

Q_LOGGING_CATEGORY(lcOps, "wingman.ops")

using protocol::ErrorCode;
using protocol::toInt;

namespace {

const QString kKeyRequired = QStringLiteral("Invalid op: mapName and key are required");

// The op id's sequence number; an id that is not one sorts first.
qint64 sequenceOf(const QString &id)
{
    bool ok = false;
    const qint64 sequence = id.toLongLong(&ok);
    return ok ? sequence : -1;
}

// docs/protocol.md "Wingman's ack rule": with A the op of the greatest numeric id, first every
// result but A's under lastId A (the TopGun client then runs its backpressure check), then A's
// own result (which resolves A's write-concern promise). Nothing when no op carries an id.
QList<protocol::OpAckMessage> ackPair(
    QList<protocol::OpResult> results, protocol::WriteConcern level)
{
    if (results.isEmpty())
        return {};
    qsizetype last = results.size() - 1;
    for (qsizetype i = 0; i < results.size(); ++i) {
        if (sequenceOf(results.at(i).opId) > sequenceOf(results.at(last).opId))
            last = i;
    }
    protocol::OpAckMessage first;
    first.lastId = results.at(last).opId;
    first.achievedLevel = level;
    protocol::OpAckMessage second = first;
    second.results = QList<protocol::OpResult> { results.takeAt(last) };
    first.results = std::move(results);
    return { std::move(first), std::move(second) };
}

} // namespace

OperationHandler::OperationHandler(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
    Committer &committer, const OpRouter &router, QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_policy(policy)
    , m_committer(committer)
    , m_router(router)
{ }

void OperationHandler::setInterceptors(std::shared_ptr<InterceptorChain> interceptors)
{
    m_interceptors = std::move(interceptors);
}

void OperationHandler::handle(network::Session &session, const protocol::DecodedOps &decoded)
{
    const QList<protocol::ClientOp> &ops = decoded.ops;
    Batch batch;
    batch.changes.reserve(ops.size());
    QList<protocol::OpResult> results;
    results.reserve(ops.size());

    for (qsizetype i = 0; i < ops.size(); ++i) {
        const protocol::ClientOp &op = ops.at(i);
        const QString opId = op.id ? *op.id : QString();

        const Outcome outcome = decoded.isInvalid(i)
            ? Outcome { toInt(ErrorCode::BadRequest), decoded.invalid.at(i) }
            : apply(op, session, Merge::Write, batch);
        protocol::OpResult result;
        result.opId = opId;
        result.success = outcome.code == 0;
        if (outcome.code == 0) {
            ++m_appliedOps;
        } else {
            ++m_rejectedOps;
            result.error = outcome.reason;
            protocol::OpRejectedMessage rejected;
            rejected.opId = opId;
            rejected.reason = outcome.reason;
            rejected.code = outcome.code;
            session.send(rejected);
            Q_EMIT opRejected(session.id(), opId, outcome.code, outcome.reason);
        }
        if (!opId.isEmpty())
            results.append(std::move(result));
    }

    // The client drops an acknowledged op from its log, so by default the ack waits for the
    // commit; FIRE_AND_FORGET and MEMORY ask for it as soon as the ops are applied.
    const bool early = decoded.writeConcern == protocol::WriteConcern::FireAndForget
        || decoded.writeConcern == protocol::WriteConcern::Memory;
    const auto level = early ? protocol::WriteConcern::Memory
                             : (m_committer.isDurable() ? protocol::WriteConcern::Persisted
                                                        : protocol::WriteConcern::Applied);
    for (protocol::OpResult &result : results) {
        if (result.success)
            result.achievedLevel = level;
    }
    QList<protocol::OpAckMessage> acks = ackPair(std::move(results), level);

    Committer::Steps steps;
    steps.origin = &session;
    steps.afterCommit = afterCommit(batch);
    const QPointer<network::Session> origin(&session);
    const quint64 sessionId = session.id();
    const quint64 slot = acks.isEmpty() ? 0 : reserveAck(sessionId);
    if (early) {
        deliverAcks(origin, sessionId, slot, std::move(acks), m_maps.hlc().now());
        m_committer.commit(std::move(batch.changes), std::move(steps));
        return;
    }
    if (m_committer.hasReplication()) {
        // With peers the ack may wait for their durable commits too, and may then report
        // REPLICATED; the plain acknowledge stays for when there is nobody to wait for.
        AckWait wait;
        wait.requested = decoded.writeConcern.value_or(protocol::WriteConcern::Persisted);
        wait.timeoutMs = decoded.timeout;
        wait.acknowledge = [this, origin, sessionId, slot, acks](
                               const crdt::Timestamp &now, bool replicated) mutable {
            if (replicated) {
                for (protocol::OpAckMessage &ack : acks) {
                    ack.achievedLevel = protocol::WriteConcern::Replicated;
                    for (protocol::OpResult &result : *ack.results) {
                        if (result.success)
                            result.achievedLevel = protocol::WriteConcern::Replicated;
                    }
                }
            }
            deliverAcks(origin, sessionId, slot, std::move(acks), now);
        };
        steps.ackWait = std::move(wait);
    }
    steps.acknowledge = [this, origin, sessionId, slot, acks = std::move(acks)](
                            const crdt::Timestamp &now) mutable {
        deliverAcks(origin, sessionId, slot, std::move(acks), now);
    };
    steps.failed = [this, origin, sessionId, slot](const QString &) {
        if (origin)
            origin->sendError(
                ErrorCode::Internal, QStringLiteral("Storage failure; ops not acknowledged"));
        if (slot != 0)
            releaseAck(sessionId, slot, {});
    };
    m_committer.commit(std::move(batch.changes), std::move(steps));
}

void OperationHandler::handle(network::Session &session, const protocol::OrMapPushDiffMessage &push)
{
    Batch batch;
    std::optional<Outcome> refused;
    const auto take = [&](const protocol::ClientOp &op) {
        const Outcome outcome = apply(op, session, Merge::Replica, batch);
        if (outcome.code != 0 && !refused)
            refused = outcome;
    };
    for (const protocol::OrMapEntry &entry : push.entries) {
        protocol::ClientOp op;
        op.mapName = push.mapName;
        op.key = entry.key;
        op.opType = protocol::OpType::OrRemove;
        for (const QString &tag : entry.tombstones) {
            op.orTag = tag;
            take(op);
        }
        op.orTag.reset();
        op.opType = protocol::OpType::OrAdd;
        for (const crdt::OrRecord &record : entry.records) {
            op.orRecord = record;
            take(op);
        }
    }
    if (refused)
        session.sendError(refused->code, refused->reason);
    if (batch.changes.isEmpty())
        return;
    Committer::Steps steps;
    steps.origin = &session;
    steps.afterCommit = afterCommit(batch);
    m_committer.commit(std::move(batch.changes), std::move(steps));
}

quint64 OperationHandler::reserveAck(quint64 session)
{
    const quint64 slot = m_nextAckSlot++;
    m_pendingAcks[session].push_back(PendingAck { slot, {}, false });
    return slot;
}

void OperationHandler::releaseAck(quint64 session, quint64 slot, std::function<void()> send)
{
    if (const auto it = m_pendingAcks.find(session); it != m_pendingAcks.end()) {
        for (PendingAck &pending : *it) {
            if (pending.slot == slot) {
                pending.send = std::move(send);
                pending.ready = true;
                break;
            }
        }
    }
    // Looked up afresh each time: a send may reach back into this handler.
    for (;;) {
        const auto it = m_pendingAcks.find(session);
        if (it == m_pendingAcks.end())
            return;
        if (it->empty()) {
            m_pendingAcks.erase(it);
            if (m_pendingAcks.isEmpty())
                Q_EMIT acksSettled();
            return;
        }
        if (!it->front().ready)
            return;
        const std::function<void()> next = std::move(it->front().send);
        it->pop_front();
        if (next)
            next();
    }
}

void OperationHandler::deliverAcks(const QPointer<network::Session> &origin, quint64 session,
    quint64 slot, QList<protocol::OpAckMessage> acks, const crdt::Timestamp &now)
{
    if (slot == 0)
        return;
    releaseAck(session, slot, [this, origin, acks = std::move(acks), now]() mutable {
        if (!origin)
            return;
        for (protocol::OpAckMessage &ack : acks) {
            ack.envelopeTimestamp = now;
            origin->send(ack);
        }
        ++m_acksSent;
    });
}

std::function<void()> OperationHandler::afterCommit(Batch &batch) const
{
    if (batch.applied.isEmpty())
        return {};
    return [interceptors = m_interceptors, applied = std::move(batch.applied),
               context = std::move(*batch.context)] {
        for (const protocol::ClientOp &op : applied)
            interceptors->afterOp(op, context);
    };
}

OperationHandler::Outcome OperationHandler::apply(
    const protocol::ClientOp &op, network::Session &session, Merge mode, Batch &batch)
{
    if (op.mapName.isEmpty() || op.key.isEmpty())
        return { toInt(ErrorCode::BadRequest), kKeyRequired };
    // docs/server.md's order: the permission check, then interceptors, which only ever see ops the
    // client may make (a refused op costs no rate-limit token, for one).
    if (const Outcome denied = authorize(op, session.principal()); denied.code != 0)
        return denied;

    // Interceptors work on a copy; without any the op is used as decoded.
    std::optional<protocol::ClientOp> intercepted;
    if (m_interceptors && !m_interceptors->isEmpty()) {
        if (!batch.context)
            batch.context = ConnectionContext::of(session);
        intercepted = op;
        const OpVerdict verdict = m_interceptors->beforeOp(*intercepted, *batch.context);
        if (verdict.kind == OpVerdict::Kind::Drop) {
            ++m_droppedOps;
            return {};
        }
        if (verdict.kind == OpVerdict::Kind::Reject)
            return { verdict.code > 0 ? verdict.code : toInt(ErrorCode::BadRequest),
                verdict.reason };
        if (intercepted->mapName.isEmpty() || intercepted->key.isEmpty())
            return { toInt(ErrorCode::BadRequest), kKeyRequired };
        // An interceptor may retarget the op; the principal must be allowed what is applied.
        if (const Outcome denied = authorize(*intercepted, session.principal()); denied.code != 0)
            return denied;
    }
    const protocol::ClientOp &applied = intercepted ? *intercepted : op;
    // Every key is applied here whoever owns it; the route only matters to the cluster's acks.
    (void)m_router.route(applied);
    const protocol::OpType type = applied.effectiveType();
    if (m_lwwGate && mode == Merge::Write && applied.record
        && (type == protocol::OpType::Put || type == protocol::OpType::Remove)) {
        if (const Outcome drifted = checkDrift(applied, false); drifted.code != 0)
            return drifted;
        const LwwVerdict verdict = m_lwwGate(session, applied);
        if (verdict.kind == LwwVerdict::Kind::Reject)
            return { toInt(ErrorCode::Conflict), verdict.reason };
        if (verdict.kind == LwwVerdict::Kind::Done)
            return {};
    }
    const Outcome outcome = merge(applied, mode, batch.changes);
    if (intercepted && outcome.code == 0)
        batch.applied.append(std::move(*intercepted));
    return outcome;
}

OperationHandler::Outcome OperationHandler::authorize(
    const protocol::ClientOp &op, const auth::Principal &principal) const
{
    const protocol::OpType type = op.effectiveType();
    const bool removes = type == protocol::OpType::Remove || type == protocol::OpType::OrRemove;
    const auto action
        = removes ? auth::SecurityPolicy::Action::Remove : auth::SecurityPolicy::Action::Put;
    if (!m_policy.isAllowed(principal, op.mapName, action)) {
        return { toInt(ErrorCode::Forbidden),
            QStringLiteral("Access denied: %1 on %2")
                .arg(auth::SecurityPolicy::actionName(action), op.mapName) };
    }
    return {};
}

OperationHandler::Outcome OperationHandler::merge(
    const protocol::ClientOp &op, Merge mode, ChangeSet &changes)
{
    const protocol::OpType type = op.effectiveType();
    const bool orOp = type == protocol::OpType::OrAdd || type == protocol::OpType::OrRemove;
    if (const Outcome drifted = checkDrift(op, orOp); drifted.code != 0)
        return drifted;
    return orOp ? mergeOr(op, mode, changes) : mergeLww(op, changes);
}

OperationHandler::Outcome OperationHandler::checkDrift(
    const protocol::ClientOp &op, bool orOp) const
{
    const crdt::Timestamp *stamp = nullptr;
    if (orOp && op.effectiveType() == protocol::OpType::OrAdd && op.orRecord)
        stamp = &op.orRecord->timestamp;
    else if (!orOp && op.record)
        stamp = &op.record->timestamp;
    const crdt::Hlc &hlc = m_maps.hlc();
    const qint64 wall = hlc.clockMillis();
    // The map would refuse it silently (strict clock); the client is told instead.
    if (!stamp || stamp->millis <= wall || stamp->millis - wall <= hlc.maxDriftMs())
        return {};
    return { toInt(ErrorCode::BadRequest),
        QStringLiteral("Clock drift: timestamp %1 is more than %2 ms ahead of the "
                       "server clock")
            .arg(stamp->toString())
            .arg(hlc.maxDriftMs()) };
}

OperationHandler::Outcome OperationHandler::mergeLww(
    const protocol::ClientOp &op, ChangeSet &changes)
{
    crdt::LwwMap *map = m_maps.lwwMap(op.mapName);
    if (!map)
        return { toInt(ErrorCode::Conflict),
            QStringLiteral("Map %1 is an OR map").arg(op.mapName) };
    if (!op.record)
        return { toInt(ErrorCode::BadRequest), QStringLiteral("Invalid op: record is required") };

    crdt::LwwRecord record = *op.record;
    if (record.value.isUndefined())
        record.value = QCborValue(QCborValue::Null);
    bool wasLive = false;
    std::optional<crdt::Value> previous;
    if (!map->merge(op.key, record, &wasLive, &previous))
        return {};
    const bool tombstone = record.isTombstone();
    std::optional<crdt::Value> value;
    if (!tombstone && !record.isExpired(map->hlc().clockMillis()))
        value = record.value;
    changes.lwwPut(op.mapName, op.key, record,
        tombstone ? protocol::ServerEventType::Remove : protocol::ServerEventType::Put,
        std::move(value), wasLive, std::move(previous));
    return {};
}

OperationHandler::Outcome OperationHandler::mergeOr(
    const protocol::ClientOp &op, Merge mode, ChangeSet &changes)
{
    crdt::OrMap *map = m_maps.orMap(op.mapName);
    if (!map)
        return { toInt(ErrorCode::Conflict),
            QStringLiteral("Map %1 is an LWW map").arg(op.mapName) };

    if (op.effectiveType() == protocol::OpType::OrAdd) {
        if (!op.orRecord)
            return { toInt(ErrorCode::BadRequest),
                QStringLiteral("Invalid op: orRecord is required") };
        const bool wasLive = !map->getRecords(op.key).isEmpty();
        const bool changed = mode == Merge::Write
            ? map->apply(op.key, *op.orRecord)
            : map->mergeKey(op.key, { *op.orRecord }).changed();
        if (changed)
            changes.orAdd(op.mapName, op.key, *op.orRecord, map->liveValue(op.key), wasLive);
        return {};
    }
    if (!op.orTag)
        return { toInt(ErrorCode::BadRequest), QStringLiteral("Invalid op: orTag is required") };
    if (map->isTombstoned(*op.orTag))
        return {};
    std::optional<crdt::Value> removed = map->recordValue(op.key, *op.orTag);
    map->applyTombstone(*op.orTag);
    changes.orTombstone(op.mapName, op.key, *op.orTag, map->liveValue(op.key), std::move(removed));
    return {};
}

} // namespace wingman::ops

#include "ops/OperationHandler.h"

#include "auth/SecurityPolicy.h"
#include "network/ClientConnection.h"
#include "ops/InterceptorChain.h"
#include "ops/MapRegistry.h"
#include "protocol/WriteMessages.h"
#include "storage/Storage.h"

#include <QPointer>

#include <QCborArray>

namespace wingman::ops {

Q_LOGGING_CATEGORY(lcOps, "wingman.ops")

namespace {

constexpr int kBadOp = 400;
constexpr int kForbidden = 403;
constexpr int kKindMismatch = 409;

QString opIdOf(const QCborValue &raw)
{
    const QCborValue id = raw.toMap().value(QStringLiteral("id"));
    if (id.isString())
        return id.toString();
    if (id.isInteger())
        return QString::number(id.toInteger());
    return {};
}

} // namespace

OperationHandler::OperationHandler(MapRegistry &maps, const auth::SecurityPolicy &policy,
                                   query::QueryRegistry &queries, storage::Storage &storage,
                                   QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_policy(policy)
    , m_queries(queries)
    , m_storage(storage)
{
}

void OperationHandler::setInterceptors(std::shared_ptr<InterceptorChain> interceptors)
{
    m_interceptors = std::move(interceptors);
}

void OperationHandler::handleClientOp(network::ClientConnection &connection, const QCborMap &message)
{
    const QCborValue payload = message.value(QStringLiteral("payload"));
    if (!payload.isMap()) {
        connection.sendError(kBadOp, QStringLiteral("Invalid message format"));
        return;
    }
    std::optional<protocol::WriteConcern> writeConcern;
    const QCborValue concern = payload.toMap().value(QStringLiteral("writeConcern"));
    if (concern.isString())
        writeConcern = protocol::writeConcernFromName(concern.toString());
    processRaw(connection, QCborArray{payload}, writeConcern);
}

void OperationHandler::handleOpBatch(network::ClientConnection &connection, const QCborMap &message)
{
    const QCborMap payload = message.value(QStringLiteral("payload")).toMap();
    const QCborValue ops = payload.value(QStringLiteral("ops"));
    if (!ops.isArray()) {
        connection.sendError(kBadOp, QStringLiteral("Invalid message format"));
        return;
    }
    std::optional<protocol::WriteConcern> writeConcern;
    const QCborValue concern = payload.value(QStringLiteral("writeConcern"));
    if (concern.isString())
        writeConcern = protocol::writeConcernFromName(concern.toString());
    processRaw(connection, ops.toArray(), writeConcern);
}

void OperationHandler::handleOps(network::ClientConnection &connection,
                                 protocol::DecodedOps &&decoded)
{
    process(connection, decoded.ops, {}, decoded.writeConcern);
}

void OperationHandler::processRaw(network::ClientConnection &connection, const QCborArray &raw,
                                  std::optional<protocol::WriteConcern> writeConcern)
{
    QList<protocol::ClientOp> ops;
    QStringList invalid;
    ops.reserve(raw.size());
    invalid.reserve(raw.size());
    for (const QCborValue &value : raw) {
        protocol::DecodeError decodeError;
        auto op = value.isMap() ? protocol::ClientOp::fromCbor(value.toMap(), &decodeError)
                                : std::nullopt;
        if (op) {
            ops.append(std::move(*op));
            invalid.append(QString());
            continue;
        }
        protocol::ClientOp placeholder;
        const QString id = opIdOf(value);
        if (!id.isEmpty())
            placeholder.id = id;
        ops.append(std::move(placeholder));
        invalid.append(QStringLiteral("Invalid op: %1 %2")
                           .arg(decodeError.field, decodeError.reason)
                           .trimmed());
    }
    process(connection, ops, invalid, writeConcern);
}

void OperationHandler::process(network::ClientConnection &connection,
                               const QList<protocol::ClientOp> &ops, const QStringList &invalid,
                               std::optional<protocol::WriteConcern> writeConcern)
{
    BatchChanges changes;
    changes.writes.reserve(ops.size());
    QList<protocol::OpResult> results;
    results.reserve(ops.size());
    QString lastId;

    for (qsizetype i = 0; i < ops.size(); ++i) {
        const protocol::ClientOp &op = ops.at(i);
        const QString opId = op.id ? *op.id : QString();
        if (!opId.isEmpty())
            lastId = opId;

        Outcome outcome;
        if (!invalid.isEmpty() && !invalid.at(i).isEmpty())
            outcome = {kBadOp, invalid.at(i)};
        else
            outcome = apply(op, connection, changes);

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
            connection.send(rejected.toCbor());
            Q_EMIT opRejected(connection.id(), opId, outcome.code, outcome.reason);
        }
        if (!opId.isEmpty())
            results.append(std::move(result));
    }

    // The client drops an acknowledged op from its log, so by default the ack waits for the
    // commit; FIRE_AND_FORGET and MEMORY ask for it as soon as the ops are applied.
    const bool early = writeConcern == protocol::WriteConcern::FireAndForget
                       || writeConcern == protocol::WriteConcern::Memory;
    const auto level = early ? protocol::WriteConcern::Memory
                             : (m_storage.isDurable() ? protocol::WriteConcern::Persisted
                                                      : protocol::WriteConcern::Applied);
    for (protocol::OpResult &result : results) {
        if (result.success)
            result.achievedLevel = level;
    }
    protocol::OpAckMessage ack;
    ack.lastId = lastId;
    ack.achievedLevel = level;
    ack.results = std::move(results);

    QPointer<network::ClientConnection> origin(&connection);
    if (early) {
        ack.envelopeTimestamp = m_maps.hlc().now();
        connection.sendEncoded(ack.encode());
        ++m_acksSent;
    }
    auto committed = [this, origin, early, ack = std::move(ack), byMap = std::move(changes.byMap),
                      interceptors = m_interceptors, applied = std::move(changes.applied),
                      context = std::move(changes.context)](const QString &error) mutable {
        if (!error.isEmpty()) {
            qCCritical(lcOps).noquote() << "storage commit failed:" << error;
            if (origin && !early)
                origin->sendError(500, QStringLiteral("Storage failure; ops not acknowledged"));
            return;
        }
        const crdt::Timestamp now = m_maps.hlc().now();
        if (origin && !early) {
            ack.envelopeTimestamp = now;
            origin->sendEncoded(ack.encode());
            ++m_acksSent;
        }
        for (auto it = byMap.cbegin(); it != byMap.cend(); ++it)
            m_queries.publish(it.key(), it.value(), origin.data(), now);
        for (const protocol::ClientOp &op : std::as_const(applied))
            interceptors->afterOp(op, *context);
    };
    m_storage.write(std::move(changes.writes), std::move(committed));
}

OperationHandler::Outcome OperationHandler::apply(const protocol::ClientOp &op,
                                                  const network::ClientConnection &connection,
                                                  BatchChanges &changes)
{
    if (op.mapName.isEmpty() || op.key.isEmpty())
        return {kBadOp, QStringLiteral("Invalid op: mapName and key are required")};
    // server.md's order: the permission check, then interceptors, which only ever see ops the
    // client may make (a refused op costs no rate-limit token, for one).
    if (const Outcome denied = authorize(op, connection.principal()); denied.code != 0)
        return denied;

    // Interceptors work on a copy; without any the op is used as decoded.
    std::optional<protocol::ClientOp> intercepted;
    if (m_interceptors && !m_interceptors->isEmpty()) {
        if (!changes.context)
            changes.context = ConnectionContext::of(connection);
        intercepted = op;
        const OpVerdict verdict = m_interceptors->beforeOp(*intercepted, *changes.context);
        if (verdict.kind == OpVerdict::Kind::Drop) {
            ++m_droppedOps;
            return {};
        }
        if (verdict.kind == OpVerdict::Kind::Reject)
            return {verdict.code > 0 ? verdict.code : kBadOp, verdict.reason};
        if (intercepted->mapName.isEmpty() || intercepted->key.isEmpty())
            return {kBadOp, QStringLiteral("Invalid op: mapName and key are required")};
        // An interceptor may retarget the op; the principal must be allowed what is applied.
        if (const Outcome denied = authorize(*intercepted, connection.principal());
            denied.code != 0) {
            return denied;
        }
    }
    const Outcome outcome = merge(intercepted ? *intercepted : op, changes);
    if (intercepted && outcome.code == 0)
        changes.applied.append(std::move(*intercepted));
    return outcome;
}

OperationHandler::Outcome OperationHandler::authorize(const protocol::ClientOp &op,
                                                      const auth::Principal &principal) const
{
    const protocol::OpType type = op.effectiveType();
    const bool removes = type == protocol::OpType::Remove || type == protocol::OpType::OrRemove;
    const auto action = removes ? auth::SecurityPolicy::Action::Remove
                                : auth::SecurityPolicy::Action::Put;
    if (!m_policy.isAllowed(principal, op.mapName, action)) {
        return {kForbidden, QStringLiteral("Access denied: %1 on %2")
                                .arg(auth::SecurityPolicy::actionName(action), op.mapName)};
    }
    return {};
}

OperationHandler::Outcome OperationHandler::merge(const protocol::ClientOp &op,
                                                  BatchChanges &changes)
{
    const protocol::OpType type = op.effectiveType();
    const bool orOp = type == protocol::OpType::OrAdd || type == protocol::OpType::OrRemove;
    if (const Outcome drifted = checkDrift(op, orOp); drifted.code != 0)
        return drifted;
    return orOp ? applyOr(op, changes) : applyLww(op, changes);
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
    return { kBadOp,
        QStringLiteral("Clock drift: timestamp %1 is more than %2 ms ahead of the "
                       "server clock")
            .arg(stamp->toString())
            .arg(hlc.maxDriftMs()) };
}

OperationHandler::Outcome OperationHandler::applyLww(const protocol::ClientOp &op,
                                                     BatchChanges &changes)
{
    crdt::LwwMap *map = m_maps.lwwMap(op.mapName);
    if (!map)
        return {kKindMismatch, QStringLiteral("Map %1 is an OR map").arg(op.mapName)};
    if (!op.record)
        return {kBadOp, QStringLiteral("Invalid op: record is required")};

    crdt::LwwRecord record = *op.record;
    if (record.value.isUndefined())
        record.value = QCborValue(QCborValue::Null);
    bool wasLive = false;
    if (!map->merge(op.key, record, &wasLive))
        return {};

    query::Change change;
    change.wasLive = wasLive;
    change.event.mapName = op.mapName;
    change.event.key = op.key;
    change.event.eventType = record.isTombstone() ? protocol::ServerEventType::Remove
                                                  : protocol::ServerEventType::Put;
    change.event.record = record;
    if (!record.isTombstone() && !record.isExpired(map->hlc().clockMillis()))
        change.value = record.value;
    storage::StorageWrite write;
    write.kind = storage::StorageWrite::Kind::LwwPut;
    write.mapName = op.mapName;
    write.key = op.key;
    write.lww = std::move(record);
    changes.writes.append(std::move(write));
    changes.byMap[op.mapName].append(std::move(change));
    return {};
}

OperationHandler::Outcome OperationHandler::applyOr(const protocol::ClientOp &op,
                                                    BatchChanges &changes)
{
    crdt::OrMap *map = m_maps.orMap(op.mapName);
    if (!map)
        return {kKindMismatch, QStringLiteral("Map %1 is an LWW map").arg(op.mapName)};

    query::Change change;
    change.event.mapName = op.mapName;
    change.event.key = op.key;
    storage::StorageWrite write;
    write.mapName = op.mapName;
    write.key = op.key;
    if (op.effectiveType() == protocol::OpType::OrAdd) {
        if (!op.orRecord)
            return {kBadOp, QStringLiteral("Invalid op: orRecord is required")};
        if (!map->apply(op.key, *op.orRecord))
            return {};
        change.event.eventType = protocol::ServerEventType::OrAdd;
        change.event.orRecord = op.orRecord;
        write.kind = storage::StorageWrite::Kind::OrPut;
        write.orRecord = *op.orRecord;
    } else {
        if (!op.orTag)
            return {kBadOp, QStringLiteral("Invalid op: orTag is required")};
        if (map->isTombstoned(*op.orTag))
            return {};
        map->applyTombstone(*op.orTag);
        change.event.eventType = protocol::ServerEventType::OrRemove;
        change.event.orTag = op.orTag;
        write.kind = storage::StorageWrite::Kind::OrTombstone;
        write.tag = *op.orTag;
    }
    change.value = map->liveValue(op.key);
    changes.writes.append(std::move(write));
    changes.byMap[op.mapName].append(std::move(change));
    return {};
}

} // namespace wingman::ops

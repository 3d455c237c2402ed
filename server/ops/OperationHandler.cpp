#include "ops/OperationHandler.h"

#include "auth/SecurityPolicy.h"
#include "network/ClientConnection.h"
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

QCborValue orValues(const crdt::OrMap &map, const QString &key)
{
    const QList<QCborValue> values = map.get(key);
    QCborArray array;
    for (const QCborValue &value : values)
        array.append(value);
    return array;
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
    process(connection, QCborArray{payload}, writeConcern);
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
    process(connection, ops.toArray(), writeConcern);
}

void OperationHandler::process(network::ClientConnection &connection, const QCborArray &ops,
                               std::optional<protocol::WriteConcern> writeConcern)
{
    BatchChanges changes;
    QList<protocol::OpResult> results;
    results.reserve(ops.size());
    QString lastId;

    for (const QCborValue &raw : ops) {
        protocol::DecodeError decodeError;
        const auto op = raw.isMap() ? protocol::ClientOp::fromCbor(raw.toMap(), &decodeError)
                                    : std::nullopt;
        const QString opId = op && op->id ? *op->id : opIdOf(raw);
        if (!opId.isEmpty())
            lastId = opId;

        Outcome outcome;
        if (!op) {
            outcome = {kBadOp, QStringLiteral("Invalid op: %1 %2")
                                   .arg(decodeError.field, decodeError.reason)
                                   .trimmed()};
        } else {
            outcome = apply(*op, connection.principal(), changes);
        }

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
        connection.send(ack.toCbor());
    }
    auto committed = [this, origin, early, ack = std::move(ack),
                      byMap = std::move(changes.byMap)](const QString &error) mutable {
        if (!error.isEmpty()) {
            qCCritical(lcOps).noquote() << "storage commit failed:" << error;
            if (origin && !early)
                origin->sendError(500, QStringLiteral("Storage failure; ops not acknowledged"));
            return;
        }
        const crdt::Timestamp now = m_maps.hlc().now();
        if (origin && !early) {
            ack.envelopeTimestamp = now;
            origin->send(ack.toCbor());
        }
        for (auto it = byMap.cbegin(); it != byMap.cend(); ++it)
            m_queries.publish(it.key(), it.value(), origin.data(), now);
    };
    m_storage.write(std::move(changes.writes), std::move(committed));
}

OperationHandler::Outcome OperationHandler::apply(const protocol::ClientOp &op,
                                                  const auth::Principal &principal,
                                                  BatchChanges &changes)
{
    if (op.mapName.isEmpty() || op.key.isEmpty())
        return {kBadOp, QStringLiteral("Invalid op: mapName and key are required")};

    const protocol::OpType type = op.effectiveType();
    const bool removes = type == protocol::OpType::Remove || type == protocol::OpType::OrRemove;
    const auto action = removes ? auth::SecurityPolicy::Action::Remove
                                : auth::SecurityPolicy::Action::Put;
    if (!m_policy.isAllowed(principal, op.mapName, action)) {
        return {kForbidden, QStringLiteral("Access denied: %1 on %2")
                                .arg(auth::SecurityPolicy::actionName(action), op.mapName)};
    }

    const bool orOp = type == protocol::OpType::OrAdd || type == protocol::OpType::OrRemove;
    return orOp ? applyOr(op, changes) : applyLww(op, changes);
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
    if (!map->merge(op.key, record))
        return {};

    query::Change change;
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
    const QCborValue values = orValues(*map, op.key);
    if (!values.toArray().isEmpty())
        change.value = values;
    changes.writes.append(std::move(write));
    changes.byMap[op.mapName].append(std::move(change));
    return {};
}

} // namespace wingman::ops

#include "ops/OperationHandler.h"

#include "auth/SecurityPolicy.h"
#include "network/ClientConnection.h"
#include "ops/MapRegistry.h"
#include "protocol/WriteMessages.h"

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
                                   query::QueryRegistry &queries, QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_policy(policy)
    , m_queries(queries)
{
}

void OperationHandler::handleClientOp(network::ClientConnection &connection, const QCborMap &message)
{
    const QCborValue payload = message.value(QStringLiteral("payload"));
    if (!payload.isMap()) {
        connection.sendError(kBadOp, QStringLiteral("Invalid message format"));
        return;
    }
    process(connection, QCborArray{payload});
}

void OperationHandler::handleOpBatch(network::ClientConnection &connection, const QCborMap &message)
{
    const QCborValue ops = message.value(QStringLiteral("payload")).toMap().value(QStringLiteral("ops"));
    if (!ops.isArray()) {
        connection.sendError(kBadOp, QStringLiteral("Invalid message format"));
        return;
    }
    process(connection, ops.toArray());
}

void OperationHandler::process(network::ClientConnection &connection, const QCborArray &ops)
{
    QHash<QString, QList<query::Change>> changes;
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
        result.achievedLevel = protocol::WriteConcern::Applied;
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

    const crdt::Timestamp now = m_maps.hlc().now();
    protocol::OpAckMessage ack;
    ack.lastId = lastId;
    ack.achievedLevel = protocol::WriteConcern::Applied;
    ack.results = std::move(results);
    ack.envelopeTimestamp = now;
    connection.send(ack.toCbor());

    for (auto it = changes.cbegin(); it != changes.cend(); ++it)
        m_queries.publish(it.key(), it.value(), &connection, now);
}

OperationHandler::Outcome OperationHandler::apply(const protocol::ClientOp &op,
                                                  const auth::Principal &principal,
                                                  QHash<QString, QList<query::Change>> &changes)
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

    QList<query::Change> &mapChanges = changes[op.mapName];
    const bool orOp = type == protocol::OpType::OrAdd || type == protocol::OpType::OrRemove;
    return orOp ? applyOr(op, mapChanges) : applyLww(op, mapChanges);
}

OperationHandler::Outcome OperationHandler::applyLww(const protocol::ClientOp &op,
                                                     QList<query::Change> &changes)
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
    changes.append(std::move(change));
    return {};
}

OperationHandler::Outcome OperationHandler::applyOr(const protocol::ClientOp &op,
                                                    QList<query::Change> &changes)
{
    crdt::OrMap *map = m_maps.orMap(op.mapName);
    if (!map)
        return {kKindMismatch, QStringLiteral("Map %1 is an LWW map").arg(op.mapName)};

    query::Change change;
    change.event.mapName = op.mapName;
    change.event.key = op.key;
    if (op.effectiveType() == protocol::OpType::OrAdd) {
        if (!op.orRecord)
            return {kBadOp, QStringLiteral("Invalid op: orRecord is required")};
        if (!map->apply(op.key, *op.orRecord))
            return {};
        change.event.eventType = protocol::ServerEventType::OrAdd;
        change.event.orRecord = op.orRecord;
    } else {
        if (!op.orTag)
            return {kBadOp, QStringLiteral("Invalid op: orTag is required")};
        if (map->isTombstoned(*op.orTag))
            return {};
        map->applyTombstone(*op.orTag);
        change.event.eventType = protocol::ServerEventType::OrRemove;
        change.event.orTag = op.orTag;
    }
    const QCborValue values = orValues(*map, op.key);
    if (!values.toArray().isEmpty())
        change.value = values;
    changes.append(std::move(change));
    return {};
}

} // namespace wingman::ops

#include "processors/ResolverHandler.h"

#include "auth/SecurityPolicy.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "ops/Committer.h"
#include "processors/CodeCheck.h"
#include "processors/EntryProcessorHandler.h"
#include "processors/ScriptPool.h"
#include "processors/ScriptValues.h"
#include "storage/Storage.h"

#include <QCborArray>
#include <QPointer>

namespace wingman::processors {

namespace {

using Verdict = ops::OperationHandler::LwwVerdict;
using Action = auth::SecurityPolicy::Action;

constexpr qsizetype kMaxNameChars = 100;
// How long a resolver the watchdog stopped is skipped.
constexpr qint64 kBenchMs = 10000;

QCborMap timestampObject(const crdt::Timestamp &timestamp)
{
    return QCborMap { { QStringLiteral("millis"), timestamp.millis },
        { QStringLiteral("counter"), timestamp.counter },
        { QStringLiteral("nodeId"), timestamp.nodeId } };
}

} // namespace

ResolverHandler::ResolverHandler(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
    ops::Committer &committer, storage::Storage &storage, ScriptPool &scripts, Options options,
    QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_policy(policy)
    , m_committer(committer)
    , m_scripts(scripts)
    , m_storage(storage)
    , m_options(options)
    , m_registry(storage)
{ }

std::optional<QString> ResolverHandler::refusal(const network::Session &session,
    const QString &mapName, const QCborValue &definition, Resolver *parsed)
{
    if (mapName.isEmpty() || !m_policy.isAllowed(session.principal(), mapName, Action::Put))
        return QStringLiteral("Access Denied for map %1").arg(mapName);
    if (!definition.isMap())
        return QStringLiteral("Invalid resolver: must be an object {name, code, priority?, "
                              "keyPattern?}");
    const QCborMap map = definition.toMap();
    const QCborValue name = map.value(QStringLiteral("name"));
    const QCborValue code = map.value(QStringLiteral("code"));
    const QCborValue priority = map.value(QStringLiteral("priority"));
    const QCborValue keyPattern = map.value(QStringLiteral("keyPattern"));
    if (!name.isString() || name.toString().isEmpty() || name.toString().size() > kMaxNameChars)
        return QStringLiteral("Invalid resolver: name must be a string of 1-%1 characters")
            .arg(kMaxNameChars);
    if (!code.isString() || code.toString().trimmed().isEmpty())
        return QStringLiteral("Resolver code required");
    if (code.toString().size() > m_options.maxCodeChars)
        return QStringLiteral("Invalid resolver: code must be at most %1 characters")
            .arg(m_options.maxCodeChars);
    const bool noPriority = priority.isUndefined() || priority.isNull();
    if (!noPriority
        && (!(priority.isInteger() || priority.isDouble())
            || priority.toDouble() != double(qint64(priority.toDouble())) || priority.toDouble() < 0
            || priority.toDouble() > 100))
        return QStringLiteral("Invalid resolver: priority must be an integer from 0 to 100");
    if (!keyPattern.isUndefined() && !keyPattern.isNull() && !keyPattern.isString())
        return QStringLiteral("Invalid resolver: keyPattern must be a string");
    if (const QString pattern = CodeCheck::forbiddenPattern(code.toString()); !pattern.isEmpty())
        return QStringLiteral("Invalid resolver code: Forbidden pattern detected: %1").arg(pattern);
    if (m_registry.count(mapName) >= ResolverRegistry::kMaxPerMap
        && !m_registry.contains(mapName, name.toString()))
        return QStringLiteral("Maximum resolvers per map (%1) exceeded")
            .arg(ResolverRegistry::kMaxPerMap);
    parsed->mapName = mapName;
    parsed->name = name.toString();
    parsed->code = code.toString();
    parsed->priority = noPriority ? 50 : int(priority.toDouble());
    if (keyPattern.isString())
        parsed->keyPattern = keyPattern.toString();
    parsed->userId = session.principal().userId;
    return std::nullopt;
}

void ResolverHandler::handle(
    network::Session &session, const protocol::RegisterResolverMessage &message)
{
    protocol::RegisterResolverResponseMessage response;
    response.requestId = message.requestId;
    Resolver resolver;
    if (const auto refused = refusal(session, message.mapName, message.resolver, &resolver)) {
        response.error = *refused;
        session.send(response);
        return;
    }
    qCInfo(lcProcessors).noquote() << "resolver" << resolver.name << "registered on map"
                                   << resolver.mapName << "by" << resolver.userId;
    m_benched.remove(resolver.mapName + QChar(0) + resolver.name);
    m_registry.put(std::move(resolver));
    replyWhenStored(session, std::move(response));
}

template <typename Response>
void ResolverHandler::replyWhenStored(network::Session &session, Response response)
{
    // Metadata commits with the next group; an empty write is answered once that group is.
    QPointer<network::Session> origin(&session);
    m_storage.write({}, [origin, response = std::move(response)](const QString &error) mutable {
        if (!origin)
            return;
        response.success = error.isEmpty();
        if (!error.isEmpty())
            response.error = QStringLiteral("Storage failure; the change may not be kept");
        origin->send(response);
    });
}

void ResolverHandler::handle(
    network::Session &session, const protocol::UnregisterResolverMessage &message)
{
    protocol::UnregisterResolverResponseMessage response;
    response.requestId = message.requestId;
    const auth::Principal &principal = session.principal();
    if (!m_policy.isAllowed(principal, message.mapName, Action::Put)) {
        response.error = QStringLiteral("Access Denied for map %1").arg(message.mapName);
        session.send(response);
        return;
    }
    const std::optional<Resolver> found = m_registry.find(message.mapName, message.resolverName);
    if (!found
        || (found->userId != principal.userId && !principal.hasRole(QStringLiteral("ADMIN")))) {
        response.error = QStringLiteral("Resolver not found or not owned by this client");
        session.send(response);
        return;
    }
    m_registry.remove(message.mapName, message.resolverName);
    replyWhenStored(session, std::move(response));
}

void ResolverHandler::handle(
    network::Session &session, const protocol::ListResolversMessage &message)
{
    protocol::ListResolversResponseMessage response;
    response.requestId = message.requestId;
    const QStringList maps = message.onlyMap ? QStringList { *message.onlyMap } : m_registry.maps();
    for (const QString &mapName : maps) {
        if (!m_policy.isAllowed(session.principal(), mapName, Action::Read))
            continue;
        for (const Resolver &resolver : m_registry.of(mapName)) {
            protocol::ResolverInfo info;
            info.mapName = resolver.mapName;
            info.name = resolver.name;
            info.priority = resolver.priority;
            info.keyPattern = resolver.keyPattern;
            response.resolvers.append(std::move(info));
        }
    }
    session.send(response);
}

void ResolverHandler::serverWrite(
    const QString &mapName, const QString &key, const QCborValue &value)
{
    crdt::LwwMap *map = m_maps.lwwMap(mapName);
    if (!map)
        return;
    const crdt::LwwRecord record { value, map->hlc().now(), {} };
    bool wasLive = false;
    if (!map->merge(key, record, &wasLive))
        return;
    const bool tombstone = record.isTombstone();
    ops::ChangeSet changes;
    changes.lwwPut(mapName, key, record,
        tombstone ? protocol::ServerEventType::Remove : protocol::ServerEventType::Put,
        tombstone ? std::nullopt : std::optional<crdt::Value>(record.value), wasLive);
    m_committer.commit(std::move(changes), {});
}

Verdict ResolverHandler::resolve(network::Session &session, const protocol::ClientOp &op)
{
    if (!op.record || !m_registry.hasAny(op.mapName))
        return {};
    if (m_maps.kindOf(op.mapName) == maps::MapRegistry::Kind::Or)
        return {};
    const QList<Resolver> chain = m_registry.chainFor(op.mapName, op.key);
    if (chain.isEmpty())
        return {};
    const crdt::LwwMap *map = m_maps.findLww(op.mapName);
    const std::optional<crdt::LwwRecord> local
        = map ? map->getRecord(op.key) : std::optional<crdt::LwwRecord>();
    const std::optional<QCborValue> liveLocal
        = map ? map->get(op.key) : std::optional<QCborValue>();
    const crdt::LwwRecord &remote = *op.record;
    // A merged or re-asserted record must be newer than the writer's own copy to replace it.
    m_maps.hlc().update(remote.timestamp);
    const QCborValue remoteValue
        = remote.isTombstone() ? QCborValue(QCborValue::Null) : remote.value.toCbor();

    QCborMap context { { QStringLiteral("mapName"), op.mapName }, { QStringLiteral("key"), op.key },
        { QStringLiteral("remoteValue"), remoteValue },
        { QStringLiteral("remoteTimestamp"), timestampObject(remote.timestamp) },
        { QStringLiteral("remoteNodeId"), remote.timestamp.nodeId },
        { QStringLiteral("auth"),
            QCborMap { { QStringLiteral("userId"), session.principal().userId },
                { QStringLiteral("roles"),
                    QCborArray::fromStringList(session.principal().roles) } } } };
    if (liveLocal)
        context.insert(QStringLiteral("localValue"), *liveLocal);
    if (local)
        context.insert(QStringLiteral("localTimestamp"), timestampObject(local->timestamp));

    Sandbox &sandbox = m_scripts.local();
    for (const Resolver &resolver : chain) {
        const QString id = resolver.mapName + QChar(0) + resolver.name;
        if (const auto benched = m_benched.constFind(id); benched != m_benched.cend()) {
            if (!benched->hasExpired())
                continue;
            m_benched.erase(benched);
        }
        const ResolverRun run = sandbox.runResolver(resolver.code, context);
        if (run.interrupted) {
            qCWarning(lcProcessors).noquote()
                << "resolver" << resolver.name << "on" << op.mapName << "stopped (" << run.error
                << "); skipped for" << kBenchMs << "ms";
            m_benched.insert(id, QDeadlineTimer(kBenchMs));
            continue;
        }
        if (!run.error.isEmpty()) {
            qCDebug(lcProcessors).noquote()
                << "resolver" << resolver.name << "on" << op.mapName << "failed:" << run.error;
            continue;
        }
        if (run.action == QLatin1String("accept"))
            return {};
        if (run.action == QLatin1String("merge")) {
            if (run.value.isUndefined())
                continue;
            if (ScriptValues::deepEqual(run.value, remoteValue))
                return {};
            serverWrite(op.mapName, op.key, run.value);
            return { Verdict::Kind::Done, {} };
        }
        if (run.action == QLatin1String("reject")) {
            const QString reason = run.reason.isEmpty()
                ? QStringLiteral("Rejected by resolver %1").arg(resolver.name)
                : run.reason;
            protocol::MergeRejectedMessage rejected;
            rejected.mapName = op.mapName;
            rejected.key = op.key;
            rejected.attemptedValue = remoteValue;
            rejected.reason = reason;
            rejected.timestamp = remote.timestamp;
            session.send(rejected);
            // The writer holds the refused value at a newer timestamp: only a newer record
            // brings it back to what is stored.
            serverWrite(op.mapName, op.key, liveLocal ? *liveLocal : QCborValue(QCborValue::Null));
            return { Verdict::Kind::Reject, reason };
        }
    }
    return {};
}

} // namespace wingman::processors

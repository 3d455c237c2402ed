#include "ServerFactory.h"

#include "MessageTable.h"
#include "Pipeline.h"
#include "ServerCoordinator.h"
#include "cluster/ClusterModule.h"
#include "cluster/ClusterTls.h"
#include "events/NotableEvent.h"
#include "metrics/MetricsModule.h"
#include "network/NetworkModule.h"
#include "ops/interceptors/RateLimiter.h"
#include "ops/interceptors/ServerTimestampStamper.h"
#include "protocol/Messages.h"
#include "storage/MemoryStorage.h"
#include "storage/PostgresStorage.h"
#include "storage/SqliteStorage.h"
#include "storage/StorageUrl.h"

#include <QHostAddress>

namespace wingman {

namespace {

// The client port's and the metrics port's TLS, when configured; the certificate is loaded as the
// cluster's is.
std::optional<QSslConfiguration> clientTls(const ServerConfig &config, QString *error)
{
    if (config.tlsCert.isEmpty() && config.tlsKey.isEmpty())
        return std::nullopt;
    if (config.tlsCert.isEmpty() || config.tlsKey.isEmpty()) {
        *error = QStringLiteral("TLS needs both --tls-cert and --tls-key");
        return std::nullopt;
    }
    return cluster::tlsIdentity(
        config.tlsCert, config.tlsKey, QStringLiteral("tlsCert"), QStringLiteral("tlsKey"), error);
}

storage::Storage *createStorage(
    const QString &option, storage::Durability durability, QString *error)
{
    QString why;
    const auto url = storage::StorageUrl::parse(option, &why);
    if (!url) {
        *error = QStringLiteral("invalid value for storage: '%1' (%2)")
                     .arg(storage::StorageUrl::redacted(option), why);
        return new storage::MemoryStorage;
    }
    switch (url->kind) {
    case storage::StorageUrl::Kind::Sqlite:
        return new storage::SqliteStorage(url->path, durability);
    case storage::StorageUrl::Kind::Postgres:
        return new storage::PostgresStorage(*url, durability);
    case storage::StorageUrl::Kind::Memory:
        break;
    }
    return new storage::MemoryStorage;
}

// The rate limiter runs first so a flood costs the least; the stamper last so no interceptor can
// put a client's timestamp back.
std::shared_ptr<ops::InterceptorChain> makeInterceptorChain(
    const ServerConfig &config, crdt::Hlc &hlc)
{
    auto chain = std::make_shared<ops::InterceptorChain>();
    if (config.rateLimitOpsPerSecond > 0) {
        const qint64 burst
            = config.rateLimitBurst > 0 ? config.rateLimitBurst : config.rateLimitOpsPerSecond;
        chain->append(
            std::make_shared<ops::RateLimiter>(config.rateLimitOpsPerSecond, burst, config.clock));
    }
    for (const std::shared_ptr<ops::Interceptor> &interceptor : config.interceptors)
        chain->append(interceptor);
    if (config.stampServerTimestamps)
        chain->append(std::make_shared<ops::ServerTimestampStamper>(hlc));
    return chain;
}

// One row of MessageTable.h: the router decodes Message and calls the pipeline part's handle().
template <typename Message, typename Handler>
void route(network::MessageRouter &router, protocol::MessageType type, network::Access access,
    network::Permission permission, Handler *handler)
{
    if (!handler)
        return;
    router.on<Message>(
        type, access, permission, [handler](network::Session &session, const Message &message) {
            handler->handle(session, message);
        });
}

template <typename T> T *handlerOf(T &part)
{
    return &part;
}
template <typename T> T *handlerOf(std::unique_ptr<T> &part)
{
    return part.get();
}

void routeMessages(Pipeline &p)
{
#define WINGMAN_ROUTE(type, Message, access, permission, handler)                                  \
    route<Message>(p.router, protocol::MessageType::type, network::Access::access,                 \
        network::Permission::permission, handlerOf(p.handler));
    WINGMAN_CLIENT_MESSAGES(WINGMAN_ROUTE)
#undef WINGMAN_ROUTE
}

// The interceptors' connection hooks and the live feed's cleanup, at the registry's edges.
void wireSessions(Pipeline &p)
{
    p.clients.setDeparture([&p](network::Session &session) {
        p.queries.removeConnection(&session);
        p.journalRequests.forget(&session);
        p.search->removeConnection(&session);
        p.topics.removeConnection(&session);
        p.locks.removeConnection(&session);
        p.pnCounters.removeConnection(&session);
        if (p.partitionMaps)
            p.partitionMaps->forget(&session);
        if (!p.interceptors->isEmpty())
            p.interceptors->connectionClosed(ops::ConnectionContext::of(session));
    });
    if (p.interceptors->isEmpty())
        return;
    p.clients.setAdmission([&p](const network::Session &session) {
        const ops::ConnectionVerdict verdict
            = p.interceptors->connectionOpened(ops::ConnectionContext::of(session));
        return verdict.accepted ? QString() : verdict.reason;
    });
}

// The event journal: its entries commit with the changes they describe, and what committed goes
// to the subscribers; what storage kept is loaded once it is open.
void wireJournal(Pipeline &p, storage::Storage &storage)
{
    if (!p.config.eventJournalEnabled)
        return;
    p.committer.setJournal(
        [&p](const ops::ChangeSet &changes, QList<storage::StorageWrite> &writes) {
            return p.journal.prepare(changes, writes);
        });
    p.journal.setListener(
        [&p](const QList<journal::JournalEntry> &entries) { p.journalRequests.publish(entries); });
    QObject::connect(&storage, &storage::Storage::opened, &storage,
        [&p, &storage] { p.journal.load(storage.loadJournal()); });
}

// The node's own signals: what its parts report, re-said for those who watch the node.
void wireStatus(Pipeline &p, ServerCoordinator *node, cluster::ClusterModule *cluster)
{
    using events::NotableEvent;
    using events::notableEventName;
    QObject::connect(&p.clients, &network::ClientRegistry::connectionOpened, node,
        &ServerCoordinator::connectionOpened);
    QObject::connect(&p.clients, &network::ClientRegistry::connectionClosed, node,
        &ServerCoordinator::connectionClosed);
    QObject::connect(&p.clients, &network::ClientRegistry::connectionAuthStateChanged, node,
        &ServerCoordinator::connectionAuthStateChanged);
    QObject::connect(
        &p.clients, &network::ClientRegistry::notableEvent, node, &ServerCoordinator::notableEvent);
    QObject::connect(&p.operations, &ops::OperationHandler::opRejected, node,
        [node](quint64 connectionId, const QString &opId, int code, const QString &reason) {
            Q_EMIT node->notableEvent(notableEventName(NotableEvent::OpRejected),
                QStringLiteral("client %1 op %2 rejected (%3): %4")
                    .arg(connectionId)
                    .arg(opId)
                    .arg(code)
                    .arg(reason));
        });
    QObject::connect(&p.gc, &sync::GcService::collected, node,
        [&p, node](const sync::GcService::Result &result) {
            protocol::GcPruneMessage prune;
            prune.olderThan = result.olderThan;
            prune.envelopeTimestamp = p.maps.hlc().now();
            p.clients.broadcast(network::Session::encode(prune));
            Q_EMIT node->notableEvent(notableEventName(NotableEvent::Gc),
                QStringLiteral("pruned %1 tombstones older than %2, expired %3 records")
                    .arg(result.pruned)
                    .arg(result.olderThan.millis)
                    .arg(result.expired));
        });
    QObject::connect(&p.gc, &sync::GcService::failed, node, [node](const QString &reason) {
        Q_EMIT node->notableEvent(
            notableEventName(NotableEvent::Gc), QStringLiteral("GC run failed: %1").arg(reason));
    });
    QObject::connect(
        cluster, &cluster::ClusterModule::viewChanged, node, &ServerCoordinator::membershipChanged);
    QObject::connect(cluster, &cluster::ClusterModule::memberUp, node, [node](const QString &id) {
        Q_EMIT node->notableEvent(
            notableEventName(NotableEvent::PeerUp), QStringLiteral("peer %1 up").arg(id));
    });
    QObject::connect(cluster, &cluster::ClusterModule::memberDown, node,
        [node](const QString &id, const QString &reason) {
            Q_EMIT node->notableEvent(notableEventName(NotableEvent::PeerDown),
                QStringLiteral("peer %1 down: %2").arg(id, reason));
        });
}

// Full-text search follows every committed change and indexes the stored maps once they loaded.
void wireSearch(Pipeline &p)
{
    const auto config = search::SearchConfig::parse(p.config.fullTextSearch, nullptr);
    p.search = std::make_unique<search::SearchService>(
        p.maps, p.config.policy, config.value_or(search::SearchConfig {}));
    p.committer.addObserver(
        [search = p.search.get()](const ops::ChangeSet &changes) { search->apply(changes); });
}

void wireReplication(
    Pipeline &p, cluster::PeerBus *bus, cluster::ClusterModule *cluster, storage::Storage &storage)
{
    if (!bus)
        return;
    cluster::WriteReplication::Options options;
    options.writeAckTimeoutMs = p.config.writeAckTimeoutMs;
    options.replicator.hintQueueBytes = p.config.hintQueueBytes;
    p.replication = std::make_unique<cluster::WriteReplication>(
        *bus, p.maps, p.committer, p.opRouter, std::move(options));

    cluster::AntiEntropy::Options antiEntropy;
    antiEntropy.intervalMs = p.config.antiEntropyIntervalMs;
    if (cluster && static_cast<cluster::PeerBus *>(cluster) == bus) {
        // Joining ends with the catch-up round (docs/cluster.md §3), not the first table.
        cluster->setEndJoiningOnFirstTable(false);
        antiEntropy.isJoining = [cluster] { return cluster->isJoining(); };
        antiEntropy.endJoining = [cluster] { cluster->endJoining(); };
    }
    // Before anti-entropy: on a link-up, the horizon swap (and a stale node's discard) must come
    // before the Merkle round.
    cluster::ClusterGc::Options gc;
    gc.intervalMs = p.config.gcIntervalMs;
    gc.ageMs = p.config.gcAgeMs;
    gc.catchUp = [&p](const QString &peer) {
        if (p.antiEntropy)
            p.antiEntropy->startRound(peer);
    };
    p.clusterGc = std::make_unique<cluster::ClusterGc>(
        *bus, p.maps, p.gc, p.replication->applier(), storage, std::move(gc));
    p.gc.setClusterRule({ [bus] { return bus->isClustered(); },
        [bus](const QString &key) {
            const cluster::PartitionTable &table = bus->table();
            return !table.isEmpty()
                && table.owner(cluster::PartitionTable::partitionOf(key)) == bus->localNodeId();
        } });

    p.antiEntropy = std::make_unique<cluster::AntiEntropy>(*bus, p.maps, p.replication->applier(),
        &p.replication->replicator(), std::move(antiEntropy));
    primitives::CounterService &counters = p.pnCounters;
    p.antiEntropy->setPnCounters({ [&counters] { return counters.digests(); },
        [&counters](const QString &name) { return counters.state(name).toCbor(); },
        [&counters](const QString &name, const QCborMap &state) {
            if (const std::optional<primitives::CounterState> merged
                = primitives::CounterState::fromCbor(state))
                counters.mergeRemote(name, *merged);
        } });
    QObject::connect(p.antiEntropy.get(), &cluster::AntiEntropy::roundFinished, p.clusterGc.get(),
        [gc = p.clusterGc.get()](const QString &, const QString &result) {
            if (result != QLatin1String("failed"))
                gc->noteContact();
        });
}

} // namespace

ServerCoordinator *ServerFactory::assemble(
    ServerConfig config, ServerCoordinator::Modules modules, QObject *parent)
{
    auto pipeline
        = std::make_unique<Pipeline>(std::move(config), modules.verifier.get(), *modules.storage);
    Pipeline &p = *pipeline;
    p.interceptors = makeInterceptorChain(p.config, p.maps.hlc());
    p.operations.setInterceptors(p.interceptors);
    p.operations.setLwwGate([&p](network::Session &session, const protocol::ClientOp &op) {
        return p.resolvers.resolve(session, op);
    });
    p.partitionMaps = std::make_unique<cluster::PartitionMapService>(*modules.cluster);
    wireSearch(p);
    routeMessages(p);
    wireSessions(p);
    wireJournal(p, *modules.storage);
    wireReplication(p, modules.bus, modules.cluster, *modules.storage);
    if (modules.bus) {
        p.primitiveRelay = std::make_unique<primitives::PrimitiveRelay>(
            *modules.bus, p.topics, p.pnCounters, p.locks);
    }
    if (modules.cluster && p.replication) {
        modules.cluster->setPendingForPeers(
            [replication = p.replication.get()] { return replication->hasPendingForPeers(); });
    }

    cluster::ClusterModule *cluster = modules.cluster;
    auto *coordinator = new ServerCoordinator(std::move(modules), std::move(pipeline), parent);
    wireStatus(p, coordinator, cluster);
    QObject::connect(
        coordinator, &ServerCoordinator::ready, p.search.get(), &search::SearchService::rebuild);
    return coordinator;
}

ServerCoordinator *ServerFactory::create(ServerConfig config, QObject *parent)
{
    ServerCoordinator::Modules modules;
    modules.storage = createStorage(config.storage,
        config.durability == u"relaxed" ? storage::Durability::Relaxed : storage::Durability::Full,
        &modules.configError);

    const QHostAddress host(config.host);
    QString tlsError;
    const std::optional<QSslConfiguration> tls = clientTls(config, &tlsError);
    if (modules.configError.isEmpty())
        modules.configError = tlsError;
    modules.network = new network::NetworkModule(host, config.port, config.maxFrameBytes, tls);
    modules.cluster = new cluster::ClusterModule(host, config.clusterPort);
    modules.bus = modules.cluster;
    if (config.metricsPort)
        modules.metrics = new metrics::MetricsModule(host, *config.metricsPort, tls);
    QString keyError;
    modules.verifier = auth::JwtVerifier::create(config.jwtSecret, &keyError);
    if (!modules.verifier && modules.configError.isEmpty())
        modules.configError = QStringLiteral("invalid value for jwtSecret: %1").arg(keyError);
    if (modules.configError.isEmpty())
        modules.configError = config.productionProblem();
    if (modules.configError.isEmpty())
        modules.configError = config.clusterProblem();
    QString searchError;
    if (modules.configError.isEmpty()
        && !search::SearchConfig::parse(config.fullTextSearch, &searchError)) {
        modules.configError
            = QStringLiteral("invalid value for fullTextSearch: %1").arg(searchError);
    }

    auto *coordinator = assemble(std::move(config), std::move(modules), parent);
    QMetaObject::invokeMethod(coordinator, &ServerCoordinator::start, Qt::QueuedConnection);
    return coordinator;
}

} // namespace wingman

#include "ServerCoordinator.h"

#include "auth/JwtVerifier.h"
#include "cluster/ClusterModule.h"
#include "metrics/MetricsModule.h"
#include "network/NetworkModule.h"
#include "protocol/Frame.h"
#include "protocol/LifecycleMessages.h"
#include "ops/InterceptorChain.h"
#include "ops/MapRegistry.h"
#include "ops/OperationHandler.h"
#include "ops/interceptors/RateLimiter.h"
#include "ops/interceptors/ServerTimestampStamper.h"
#include "query/QueryHandler.h"
#include "query/QueryRegistry.h"
#include "sync/SyncHandler.h"
#include "storage/Storage.h"

#include <QTimer>
#include <QUuid>
#include <QWebSocket>

namespace wingman {

Q_LOGGING_CATEGORY(lcServer, "wingman.server")

namespace {
// Clients that do not answer the close handshake in time are cut off so shutdown never hangs.
constexpr int kCloseHandshakeTimeoutMs = 3000;
constexpr int kShutdownRetryAfterMs = 5000;
constexpr auto kConnectionRejected = QWebSocketProtocol::CloseCode(4000);
const QString kNodeIdMeta = QStringLiteral("nodeId");

// The rate limiter runs first so a flood costs the least; the stamper last so no interceptor can
// put a client's timestamp back.
std::shared_ptr<ops::InterceptorChain> makeInterceptorChain(const ServerConfig &config,
                                                            crdt::Hlc &hlc)
{
    auto chain = std::make_shared<ops::InterceptorChain>();
    if (config.rateLimitOpsPerSecond > 0) {
        const qint64 burst = config.rateLimitBurst > 0 ? config.rateLimitBurst
                                                       : config.rateLimitOpsPerSecond;
        chain->append(std::make_shared<ops::RateLimiter>(config.rateLimitOpsPerSecond, burst,
                                                         config.clock));
    }
    for (const std::shared_ptr<ops::Interceptor> &interceptor : config.interceptors)
        chain->append(interceptor);
    if (config.stampServerTimestamps)
        chain->append(std::make_shared<ops::ServerTimestampStamper>(hlc));
    return chain;
}
} // namespace

ServerCoordinator::ServerCoordinator(ServerConfig config, Modules modules, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_network(modules.network)
    , m_cluster(modules.cluster)
    , m_storage(modules.storage)
    , m_metrics(modules.metrics)
    , m_verifier(std::move(modules.verifier))
    , m_configError(std::move(modules.configError))
    , m_maps(std::make_unique<ops::MapRegistry>(m_config.nodeId, m_config.clock))
    , m_queries(std::make_unique<query::QueryRegistry>())
    , m_queryHandler(
          std::make_unique<query::QueryHandler>(*m_maps, m_config.policy, *m_queries))
    , m_syncHandler(std::make_unique<sync::SyncHandler>(*m_maps, m_config.policy, *m_queries,
                                                        *m_storage, m_config.gcAgeMs))
    , m_operations(new ops::OperationHandler(*m_maps, m_config.policy, *m_queries, *m_storage, this))
    , m_gc(new sync::GcService(*m_maps, *m_queries, *m_storage, m_config.gcIntervalMs,
                               m_config.gcAgeMs, this))
{
    m_interceptors = makeInterceptorChain(m_config, m_maps->hlc());
    m_operations->setInterceptors(m_interceptors);
    registerHandlers();
    connect(m_gc, &sync::GcService::collected, this, &ServerCoordinator::onGarbageCollected);
    connect(m_gc, &sync::GcService::failed, this, [this](const QString &reason) {
        Q_EMIT notableEvent(QStringLiteral("gc"), QStringLiteral("GC run failed: %1").arg(reason));
    });
    m_network->setParent(this);
    m_cluster->setParent(this);
    m_storage->setParent(this);
    connect(m_network, &network::NetworkModule::listening, this,
            &ServerCoordinator::onNetworkListening);
    connect(m_network, &network::NetworkModule::failed, this, &ServerCoordinator::onModuleFailed);
    connect(m_network, &network::NetworkModule::socketAccepted, this,
            &ServerCoordinator::acceptSocket);
    connect(m_cluster, &cluster::ClusterModule::listening, this,
            &ServerCoordinator::onClusterListening);
    connect(m_cluster, &cluster::ClusterModule::failed, this, &ServerCoordinator::onModuleFailed);
    connect(m_storage, &storage::Storage::opened, this, &ServerCoordinator::onStorageOpened);
    connect(m_storage, &storage::Storage::failed, this, &ServerCoordinator::onModuleFailed);
    connect(m_cluster, &cluster::ClusterModule::memberUp, this, [this](const QString &nodeId) {
        Q_EMIT membershipChanged();
        Q_EMIT notableEvent(QStringLiteral("peer-up"), QStringLiteral("peer %1 up").arg(nodeId));
    });
    connect(m_cluster, &cluster::ClusterModule::memberDown, this,
            [this](const QString &nodeId, const QString &reason) {
                Q_EMIT membershipChanged();
                Q_EMIT notableEvent(QStringLiteral("peer-down"),
                                    QStringLiteral("peer %1 down: %2").arg(nodeId, reason));
            });
    connect(m_operations, &ops::OperationHandler::opRejected, this,
            [this](quint64 connectionId, const QString &opId, int code, const QString &reason) {
                Q_EMIT notableEvent(QStringLiteral("op-rejected"),
                                    QStringLiteral("client %1 op %2 rejected (%3): %4")
                                        .arg(connectionId)
                                        .arg(opId)
                                        .arg(code)
                                        .arg(reason));
            });
    if (m_metrics) {
        m_metrics->setParent(this);
        m_metrics->attach(this, m_config.monitorFeedIntervalMs);
        connect(m_metrics, &metrics::MetricsModule::listening, this,
                &ServerCoordinator::onMetricsListening);
        connect(m_metrics, &metrics::MetricsModule::failed, this,
                &ServerCoordinator::onModuleFailed);
    }
}

ServerCoordinator::~ServerCoordinator() = default;

void ServerCoordinator::registerHandlers()
{
    using network::ClientConnection;
    const auto bind = [this](const char *type, auto *target, auto method) {
        quint64 *routed = &m_messagesByType[QString::fromLatin1(type)];
        m_router.addHandler(QString::fromLatin1(type),
                            [target, method, routed](ClientConnection &c, const QCborMap &message) {
                                ++*routed;
                                (target->*method)(c, message);
                            });
    };
    bind("CLIENT_OP", m_operations, &ops::OperationHandler::handleClientOp);
    bind("OP_BATCH", m_operations, &ops::OperationHandler::handleOpBatch);
    quint64 *clientOps = &m_messagesByType[QStringLiteral("CLIENT_OP")];
    quint64 *opBatches = &m_messagesByType[QStringLiteral("OP_BATCH")];
    m_router.setOpsHandler([operations = m_operations, clientOps, opBatches](
                               ClientConnection &c, protocol::DecodedOps &&ops) {
        ++*(ops.type == protocol::MessageType::ClientOp ? clientOps : opBatches);
        operations->handleOps(c, std::move(ops));
    });
    sync::SyncHandler *syncHandler = m_syncHandler.get();
    bind("SYNC_INIT", syncHandler, &sync::SyncHandler::handleSyncInit);
    bind("MERKLE_REQ_BUCKET", syncHandler, &sync::SyncHandler::handleMerkleReqBucket);
    bind("ORMAP_SYNC_INIT", syncHandler, &sync::SyncHandler::handleOrMapSyncInit);
    bind("ORMAP_MERKLE_REQ_BUCKET", syncHandler, &sync::SyncHandler::handleOrMapMerkleReqBucket);
    bind("ORMAP_DIFF_REQUEST", syncHandler, &sync::SyncHandler::handleOrMapDiffRequest);
    bind("ORMAP_PUSH_DIFF", syncHandler, &sync::SyncHandler::handleOrMapPushDiff);
    query::QueryHandler *queryHandler = m_queryHandler.get();
    bind("QUERY_SUB", queryHandler, &query::QueryHandler::handleQuerySub);
    bind("QUERY_UNSUB", queryHandler, &query::QueryHandler::handleQueryUnsub);
}

sync::GcService::Result ServerCoordinator::performGarbageCollection(qint64 olderThanMillis)
{
    if (m_state != State::Ready) {
        qCWarning(lcServer) << "garbage collection skipped: the node is not serving";
        return {};
    }
    return m_gc->collect(olderThanMillis);
}

void ServerCoordinator::onGarbageCollected(const sync::GcService::Result &result)
{
    ++m_counters.gcRuns;
    m_counters.tombstonesPruned += quint64(result.pruned);
    m_counters.ttlExpired += quint64(result.expired);

    protocol::GcPruneMessage prune;
    prune.olderThan = result.olderThan;
    prune.envelopeTimestamp = m_maps->hlc().now();
    const QByteArray encoded = protocol::Frame::encode(prune.toCbor());
    for (network::ClientConnection *connection : std::as_const(m_connections)) {
        if (connection->authState() == network::AuthState::Authenticated)
            connection->sendEncoded(encoded);
    }
    Q_EMIT notableEvent(QStringLiteral("gc"),
                        QStringLiteral("pruned %1 tombstones older than %2, expired %3 records")
                            .arg(result.pruned)
                            .arg(result.olderThan.millis)
                            .arg(result.expired));
}

crdt::LwwMap *ServerCoordinator::getMap(const QString &name) const
{
    return m_maps->findLww(name);
}

crdt::OrMap *ServerCoordinator::getOrMap(const QString &name) const
{
    return m_maps->findOr(name);
}

qint64 ServerCoordinator::uptimeMs() const
{
    return m_uptime.isValid() ? m_uptime.elapsed() : 0;
}

void ServerCoordinator::start()
{
    if (m_state != State::Created)
        return;
    m_state = State::Starting;
    if (!m_configError.isEmpty()) {
        onModuleFailed(m_configError);
        return;
    }
    if (m_config.usesDevSecret()) {
        qCWarning(lcServer).noquote()
            << "*** WARNING: using the built-in development JWT secret. Anyone can mint tokens"
               " for this node. Set --jwt-secret or WINGMAN_JWT_SECRET before production use. ***";
    }
    m_storage->open();
    m_network->start();
    if (m_state == State::Starting && m_metrics)
        m_metrics->start();
}

QString ServerCoordinator::resolveNodeId()
{
    const QString stored = m_storage->loadMeta(kNodeIdMeta);
    if (!m_config.nodeId.isEmpty()) {
        if (!stored.isEmpty() && stored != m_config.nodeId)
            return QStringLiteral("invalid value for nodeId: '%1' (the storage belongs to node "
                                  "'%2'; start with that id or with other storage)")
                .arg(m_config.nodeId, stored);
    } else if (crdt::Hlc::isValidNodeId(stored)) {
        m_config.nodeId = stored;
    } else {
        m_config.nodeId =
            QStringLiteral("node-") + QUuid::createUuid().toString(QUuid::WithoutBraces).left(8);
    }
    if (stored != m_config.nodeId)
        m_storage->storeMeta(kNodeIdMeta, m_config.nodeId);
    m_maps->hlc().setNodeId(m_config.nodeId);
    return {};
}

void ServerCoordinator::onNetworkListening(quint16 port)
{
    m_listeningPort = port;
    maybeCompleteStartup();
}

void ServerCoordinator::onClusterListening(quint16 port)
{
    m_listeningClusterPort = port;
    maybeCompleteStartup();
}

void ServerCoordinator::onMetricsListening(quint16 port)
{
    m_listeningMetricsPort = port;
    maybeCompleteStartup();
}

// The node's id lives with its data, so the cluster link, which introduces the node by id, starts
// once storage has said which id that is.
void ServerCoordinator::onStorageOpened()
{
    if (m_state != State::Starting)
        return;
    if (const QString error = resolveNodeId(); !error.isEmpty()) {
        onModuleFailed(error);
        return;
    }
    m_maps->hlc().setMaxDriftMs(m_config.maxClockDriftMs);
    m_maps->load(m_storage->loadAll());
    // Stored records load as they are; from now on no timestamp (client op, ORMAP_PUSH_DIFF,
    // peer) moves the clock beyond the drift bound: maps refuse such a record instead.
    m_maps->hlc().setStrict(true);
    m_storageOpen = true;
    m_cluster->setMembership(m_config.nodeId, m_config.peers, m_config.clusterHeartbeatMs);
    m_cluster->start();
}

void ServerCoordinator::onModuleFailed(const QString &reason)
{
    if (m_state != State::Starting)
        return;
    m_state = State::Failed;
    qCCritical(lcServer).noquote() << "startup failed:" << reason;
    m_network->stopListening();
    m_cluster->stop();
    if (m_metrics)
        m_metrics->stop();
    m_storage->close();
    Q_EMIT startupFailed(reason);
}

void ServerCoordinator::maybeCompleteStartup()
{
    if (m_state == State::Starting && m_listeningPort != 0 && m_listeningClusterPort != 0
        && m_storageOpen && (!m_metrics || m_listeningMetricsPort != 0))
        completeStartup(m_listeningPort, m_listeningClusterPort);
}

void ServerCoordinator::completeStartup(quint16 port, quint16 clusterPort)
{
    m_port = port;
    m_clusterPort = clusterPort;
    m_metricsPort = m_listeningMetricsPort;
    m_state = State::Ready;
    m_uptime.start();
    QString line = QStringLiteral("node %1 ready: client port %2, cluster port %3")
                       .arg(m_config.nodeId)
                       .arg(port)
                       .arg(clusterPort);
    if (m_metrics)
        line += QStringLiteral(", metrics port %1").arg(m_metricsPort);
    qCInfo(lcServer).noquote() << line;
    m_gc->start();
    Q_EMIT ready();
}

void ServerCoordinator::acceptSocket(QWebSocket *socket)
{
    if (m_state != State::Ready) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    const quint64 id = m_nextConnectionId++;
    const network::OutboundLimits limits{m_config.outboundBudgetBytes,
                                         m_config.slowConsumerGraceMs};
    auto *connection =
        new network::ClientConnection(socket, id, *m_verifier, m_router, limits, this);
    m_connections.insert(id, connection);
    ++m_counters.connectionsAccepted;
    connect(connection, &network::ClientConnection::slowConsumer, this,
            [this, connection](qint64 queuedBytes) {
                ++m_counters.slowConsumerDrops;
                Q_EMIT notableEvent(QStringLiteral("slow-consumer"),
                                    QStringLiteral("client %1 (%2) closed with %3 bytes queued")
                                        .arg(connection->id())
                                        .arg(connection->remoteAddress())
                                        .arg(queuedBytes));
            });
    connect(connection, &network::ClientConnection::authStateChanged, this,
            [this, id, connection](network::AuthState state) {
                if (state == network::AuthState::Failed) {
                    ++m_counters.authFailures;
                    Q_EMIT notableEvent(QStringLiteral("auth-failure"),
                                        QStringLiteral("client %1 (%2) failed to authenticate")
                                            .arg(id)
                                            .arg(connection->remoteAddress()));
                }
                Q_EMIT connectionAuthStateChanged(id, state);
            });
    connect(connection, &network::ClientConnection::disconnected, this, [this, id, connection] {
        m_connections.remove(id);
        m_counters.bytesIn += connection->bytesIn();
        m_counters.bytesOut += connection->bytesOut();
        m_counters.messagesIn += connection->messagesIn();
        m_counters.messagesOut += connection->messagesOut();
        m_queries->removeConnection(connection);
        if (!m_interceptors->isEmpty())
            m_interceptors->connectionClosed(ops::ConnectionContext::of(*connection));
        connection->deleteLater();
        Q_EMIT connectionClosed(id);
        // Queued so that stopped() never fires inside the shutdown() call itself.
        if (m_state == State::Stopping && m_connections.isEmpty())
            QMetaObject::invokeMethod(this, &ServerCoordinator::finishShutdown,
                                      Qt::QueuedConnection);
    });
    Q_EMIT connectionOpened(id);
    if (!m_interceptors->isEmpty()) {
        const ops::ConnectionVerdict verdict =
            m_interceptors->connectionOpened(ops::ConnectionContext::of(*connection));
        if (!verdict.accepted) {
            qCInfo(lcServer).noquote() << QStringLiteral("connection %1 (%2) rejected: %3")
                                              .arg(id)
                                              .arg(connection->remoteAddress(), verdict.reason);
            connection->close(kConnectionRejected, QStringLiteral("Connection Rejected"));
            QTimer::singleShot(kCloseHandshakeTimeoutMs, connection,
                               [connection] { connection->abort(); });
            return;
        }
    }
    connection->start();
}

namespace {
ConnectionInfo infoOf(const network::ClientConnection &c)
{
    return {c.id(),         c.remoteAddress(), c.authState(), c.principal(),
            c.connectedAt(), c.messagesIn(),   c.messagesOut(), c.bytesIn(),
            c.bytesOut(),   c.queuedBytes()};
}
} // namespace

QList<ConnectionInfo> ServerCoordinator::connections() const
{
    QList<ConnectionInfo> result;
    result.reserve(m_connections.size());
    for (const network::ClientConnection *c : m_connections)
        result.append(infoOf(*c));
    std::sort(result.begin(), result.end(),
              [](const ConnectionInfo &a, const ConnectionInfo &b) { return a.id < b.id; });
    return result;
}

std::optional<ConnectionInfo> ServerCoordinator::connection(quint64 id) const
{
    const network::ClientConnection *c = m_connections.value(id);
    if (!c)
        return std::nullopt;
    return infoOf(*c);
}

QList<cluster::Member> ServerCoordinator::members() const
{
    return m_cluster->members();
}

metrics::NodeCounters ServerCoordinator::counterTotals() const
{
    metrics::NodeCounters totals = m_counters;
    totals.opsApplied += m_operations->appliedOps();
    totals.opsRejected += m_operations->rejectedOps();
    totals.opsDropped += m_operations->droppedOps();
    totals.acksSent += m_operations->acksSent();
    for (const network::ClientConnection *c : m_connections) {
        totals.bytesIn += c->bytesIn();
        totals.bytesOut += c->bytesOut();
        totals.messagesIn += c->messagesIn();
        totals.messagesOut += c->messagesOut();
    }
    return totals;
}

QMap<QString, quint64> ServerCoordinator::messagesByType() const
{
    QMap<QString, quint64> result;
    for (const auto &[type, count] : m_messagesByType)
        result.insert(type, count);
    return result;
}

void ServerCoordinator::shutdown()
{
    if (m_state == State::Stopping || m_state == State::Stopped)
        return;
    const bool wasServing = m_state == State::Ready;
    m_state = State::Stopping;
    Q_EMIT stopping();
    m_gc->stop();
    m_network->stopListening();
    if (!wasServing || m_connections.isEmpty()) {
        QMetaObject::invokeMethod(this, &ServerCoordinator::finishShutdown, Qt::QueuedConnection);
        return;
    }

    qCInfo(lcServer) << "shutting down; notifying" << m_connections.size() << "clients";
    QCborMap notice;
    notice.insert(QStringLiteral("type"), QStringLiteral("SHUTDOWN_PENDING"));
    notice.insert(QStringLiteral("retryAfter"), kShutdownRetryAfterMs);
    const auto connections = m_connections.values();
    for (network::ClientConnection *connection : connections) {
        connection->sendUrgent(notice);
        connection->close(QWebSocketProtocol::CloseCodeGoingAway,
                          QStringLiteral("Server shutting down"));
    }
    QTimer::singleShot(kCloseHandshakeTimeoutMs, this, [this] {
        if (m_state != State::Stopping)
            return;
        const auto stragglers = m_connections.values();
        for (network::ClientConnection *connection : stragglers)
            connection->abort();
    });
}

void ServerCoordinator::finishShutdown()
{
    if (m_state != State::Stopping)
        return;
    m_cluster->stop();
    if (m_metrics)
        m_metrics->stop();
    m_storage->close();
    m_port = 0;
    m_clusterPort = 0;
    m_metricsPort = 0;
    m_state = State::Stopped;
    qCInfo(lcServer).noquote() << QStringLiteral("node %1 stopped").arg(m_config.nodeId);
    Q_EMIT stopped();
}

} // namespace wingman

#include "ServerCoordinator.h"

#include "Pipeline.h"
#include "cluster/ClusterModule.h"
#include "cluster/ClusterTls.h"
#include "metrics/MetricsModule.h"
#include "network/NetworkModule.h"
#include "protocol/LifecycleMessages.h"
#include "storage/Storage.h"

#include <QTimer>
#include <QUuid>
#include <QWebSocket>

#include <algorithm>
#include <climits>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace wingman {

Q_LOGGING_CATEGORY(lcServer, "wingman.server")

namespace {
constexpr int kShutdownRetryAfterMs = 5000;
const QString kNodeIdMeta = QStringLiteral("nodeId");
const QString kTableVersionMeta = QStringLiteral("partitionTableVersion");

} // namespace

ServerCoordinator::ServerCoordinator(
    Modules modules, std::unique_ptr<Pipeline> pipeline, QObject *parent)
    : status::NodeStatus(parent)
    , m_network(modules.network)
    , m_cluster(modules.cluster)
    , m_storage(modules.storage)
    , m_metrics(modules.metrics)
    , m_verifier(std::move(modules.verifier))
    , m_configError(std::move(modules.configError))
    , m_pipeline(std::move(pipeline))
{
    m_network->setParent(this);
    m_cluster->setParent(this);
    m_storage->setParent(this);
    connect(m_network, &network::NetworkModule::listening, this, [this](quint16 port) {
        m_listeningPort = port;
        startCluster();
        onListening();
    });
    connect(m_network, &network::NetworkModule::failed, this, &ServerCoordinator::onModuleFailed);
    connect(
        m_network, &network::NetworkModule::socketAccepted, this, &ServerCoordinator::acceptSocket);
    connect(m_cluster, &cluster::ClusterModule::listening, this, [this](quint16 port) {
        m_listeningClusterPort = port;
        onListening();
    });
    connect(m_cluster, &cluster::ClusterModule::failed, this, &ServerCoordinator::onModuleFailed);
    connect(m_cluster, &cluster::ClusterModule::drained, this, [this] {
        m_drain = Drain::Done;
        finishShutdown();
    });
    connect(m_storage, &storage::Storage::opened, this, &ServerCoordinator::onStorageOpened);
    // The version never goes back, not even across restarts (docs/cluster.md §3).
    connect(m_cluster, &cluster::ClusterModule::tableChanged, this,
        [this](const cluster::PartitionTable &table) {
            if (m_storage->isOpen()
                && table.version() > m_storage->loadMeta(kTableVersionMeta).toLongLong())
                m_storage->storeMeta(kTableVersionMeta, QString::number(table.version()));
        });
    connect(m_storage, &storage::Storage::failed, this, &ServerCoordinator::onModuleFailed);
    connect(&m_pipeline->clients, &network::ClientRegistry::connectionClosed, this,
        &ServerCoordinator::onConnectionClosed);
    connect(&m_pipeline->operations, &ops::OperationHandler::acksSettled, this,
        &ServerCoordinator::closeClients);
    connect(m_network, &network::NetworkModule::drainsFinished, this,
        &ServerCoordinator::finishShutdown);
    if (m_metrics) {
        m_metrics->setParent(this);
        m_metrics->attach(this, m_verifier.get(), config().monitorFeedIntervalMs);
        connect(m_metrics, &metrics::MetricsModule::listening, this, [this](quint16 port) {
            m_listeningMetricsPort = port;
            onListening();
        });
        connect(
            m_metrics, &metrics::MetricsModule::failed, this, &ServerCoordinator::onModuleFailed);
    }
}

// Pending commits finish while the pipeline they report to still exists.
ServerCoordinator::~ServerCoordinator()
{
    // Also while storage is still opening: its loading thread stops before the maps it feeds go.
    m_storage->close();
    m_storage->setLwwLoadSink({});
}

const ServerConfig &ServerCoordinator::config() const
{
    return m_pipeline->config;
}

QString ServerCoordinator::nodeId() const
{
    return config().nodeId;
}

QString ServerCoordinator::host() const
{
    return config().host;
}

sync::GcService::Result ServerCoordinator::performGarbageCollection(qint64 olderThanMillis)
{
    if (m_state != State::Ready) {
        qCWarning(lcServer) << "garbage collection skipped: the node is not serving";
        return {};
    }
    return m_pipeline->gc.collect(olderThanMillis);
}

const cluster::ClusterGc *ServerCoordinator::clusterGc() const
{
    return m_pipeline->clusterGc.get();
}

crdt::LwwMap *ServerCoordinator::getMap(const QString &name) const
{
    return m_pipeline->maps.findLww(name);
}

crdt::OrMap *ServerCoordinator::getOrMap(const QString &name) const
{
    return m_pipeline->maps.findOr(name);
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
    if (config().usesDevSecret()) {
        qCWarning(lcServer).noquote()
            << "*** WARNING: using the built-in development JWT secret. Anyone can mint tokens"
               " for this node. Set --jwt-secret or WINGMAN_JWT_SECRET before production use. ***";
    }
    // LWW maps build on a worker while storage reads them (backends that stream); the loader is
    // shared with the sink, which storage's loading thread may still hold.
    m_mapLoader = std::make_shared<maps::MapRegistry::StreamLoader>(m_pipeline->maps);
    m_storage->setLwwLoadSink([loader = m_mapLoader](const QString &mapName,
                                  std::vector<storage::StoredLwwRecord> &&records) {
        loader->sink()(mapName, std::move(records));
    });
    m_storage->open();
    m_network->start();
    if (m_state == State::Starting && m_metrics)
        m_metrics->start();
}

QString ServerCoordinator::resolveNodeId()
{
    ServerConfig &config = m_pipeline->config;
    const QString stored = m_storage->loadMeta(kNodeIdMeta);
    if (!config.nodeId.isEmpty()) {
        if (!stored.isEmpty() && stored != config.nodeId)
            return QStringLiteral("invalid value for nodeId: '%1' (the storage belongs to node "
                                  "'%2'; start with that id or with other storage)")
                .arg(config.nodeId, stored);
    } else if (crdt::Hlc::isValidNodeId(stored)) {
        config.nodeId = stored;
    } else {
        config.nodeId
            = QStringLiteral("node-") + QUuid::createUuid().toString(QUuid::WithoutBraces).left(8);
        if (!config.peers.isEmpty())
            qCInfo(lcServer).noquote() << QStringLiteral(
                "no node id configured or stored: joining the cluster as the new member %1")
                                              .arg(config.nodeId);
    }
    if (stored != config.nodeId)
        m_storage->storeMeta(kNodeIdMeta, config.nodeId);
    m_pipeline->maps.hlc().setNodeId(config.nodeId);
    m_pipeline->opRouter.setLocalNodeId(config.nodeId);
    return {};
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
    maps::MapRegistry &maps = m_pipeline->maps;
    maps.hlc().setMaxDriftMs(config().maxClockDriftMs);
    if (m_mapLoader) {
        m_mapLoader->adopt();
        m_storage->setLwwLoadSink({}); // its loading is over
        m_mapLoader.reset();
    }
    maps.load(m_storage->loadAll());
#ifdef __GLIBC__
    // What storage loaded was copied into the maps and freed, on the loader's threads too: hand
    // those pages back, or the node's resident size keeps the load's peak for good.
    malloc_trim(0);
#endif
    // Stored records load as they are; from now on no timestamp (client op, ORMAP_PUSH_DIFF,
    // peer) moves the clock beyond the drift bound: maps refuse such a record instead.
    maps.hlc().setStrict(true);
    m_storageOpen = true;
    startCluster();
}

void ServerCoordinator::startCluster()
{
    if (m_state != State::Starting || !m_storageOpen || m_listeningPort == 0 || m_clusterStarted)
        return;
    m_clusterStarted = true;
    const ServerConfig &c = config();
    cluster::ClusterOptions options;
    options.nodeId = c.nodeId;
    options.peers = c.peers;
    options.secret = c.clusterSecret;
    options.advertiseHost = c.effectiveAdvertiseHost();
    options.advertisePort = c.clusterAdvertisePort;
    options.clientEndpoint
        = QStringLiteral("ws://%1:%2").arg(options.advertiseHost).arg(m_listeningPort);
    options.backupCount = c.backupCount;
    options.probeIntervalMs = c.probeIntervalMs;
    options.suspicionTimeoutMs = c.suspicionTimeoutMs;
    options.joinTimeoutMs = c.joinTimeoutMs;
    options.memberForgetAfterMs = c.memberForgetAfterMs;
    options.tableVersion = m_storage->loadMeta(kTableVersionMeta).toLongLong();
    if (!c.clusterTlsCert.isEmpty()) {
        QString error;
        options.tls
            = cluster::clusterTls(c.clusterTlsCert, c.clusterTlsKey, c.clusterTlsCa, &error);
        if (!options.tls) {
            onModuleFailed(error);
            return;
        }
    }
    m_cluster->configure(options);
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

void ServerCoordinator::onListening()
{
    if (m_state == State::Starting && m_listeningPort != 0 && m_listeningClusterPort != 0
        && m_storageOpen && (!m_metrics || m_listeningMetricsPort != 0))
        completeStartup();
}

void ServerCoordinator::completeStartup()
{
    m_port = m_listeningPort;
    m_clusterPort = m_listeningClusterPort;
    m_metricsPort = m_listeningMetricsPort;
    m_state = State::Ready;
    m_uptime.start();
    QString line = QStringLiteral("node %1 ready: client port %2, cluster port %3")
                       .arg(nodeId())
                       .arg(m_port)
                       .arg(m_clusterPort);
    if (m_metrics)
        line += QStringLiteral(", metrics port %1").arg(m_metricsPort);
    qCInfo(lcServer).noquote() << line;
    m_pipeline->gc.start();
    Q_EMIT ready();
}

void ServerCoordinator::acceptSocket(QWebSocket *socket)
{
    if (m_state != State::Ready) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    m_pipeline->clients.accept(socket);
}

QList<ConnectionInfo> ServerCoordinator::connections() const
{
    return m_pipeline->clients.connections();
}

std::optional<ConnectionInfo> ServerCoordinator::connection(quint64 id) const
{
    return m_pipeline->clients.connection(id);
}

QList<cluster::Member> ServerCoordinator::members() const
{
    return m_cluster->members();
}

status::ClusterStatus ServerCoordinator::clusterStatus() const
{
    const cluster::PartitionTable &table = m_cluster->table();
    status::ClusterStatus status;
    status.state = cluster::memberStateName(m_cluster->localState());
    status.coordinator = table.coordinator();
    status.tableVersion = table.version();
    status.partitionsOwned = table.ownedBy(nodeId());
    status.partitionsBackup = table.backedUpBy(nodeId());
    status.suspicions = m_cluster->suspicions();
    status.handshakeFailures = m_cluster->handshakeFailures();
    return status;
}

status::NodeCounters ServerCoordinator::counters() const
{
    return m_pipeline->counters(false);
}

status::NodeCounters ServerCoordinator::counterTotals() const
{
    return m_pipeline->counters(true);
}

QMap<QString, quint64> ServerCoordinator::messagesByType() const
{
    return m_pipeline->router.routedByType();
}

void ServerCoordinator::shutdown()
{
    if (m_state == State::Stopping || m_state == State::Stopped)
        return;
    const bool wasServing = m_state == State::Ready;
    m_state = State::Stopping;
    Q_EMIT stopping();
    m_pipeline->gc.stop();
    m_network->stopListening();
    m_cluster->leave();
    QTimer::singleShot(int(std::clamp<qint64>(config().shutdownDrainMs, 0, INT_MAX)), this,
        &ServerCoordinator::onDrainTimeout);
    network::ClientRegistry &clients = m_pipeline->clients;
    if (!wasServing || clients.isEmpty()) {
        QMetaObject::invokeMethod(this, &ServerCoordinator::finishShutdown, Qt::QueuedConnection);
        return;
    }

    qCInfo(lcServer) << "shutting down; notifying" << clients.size() << "clients";
    protocol::ShutdownPendingMessage notice;
    notice.retryAfter = kShutdownRetryAfterMs;
    clients.stopReading(network::Session::encode(notice));
    // Storage answers writes in the order they came, so once this empty one is done every op read
    // before the notice is committed, and acknowledged unless its ack waits for peers.
    m_storage->write({}, [this](const QString &) {
        m_opsCommitted = true;
        closeClients();
    });
}

void ServerCoordinator::closeClients()
{
    if (m_state != State::Stopping || !m_opsCommitted || m_clientsClosed
        || m_pipeline->operations.hasPendingAcks())
        return;
    m_clientsClosed = true;
    m_pipeline->clients.closeAll(
        protocol::CloseCode::GoingAway, QStringLiteral("Server shutting down"));
}

void ServerCoordinator::onDrainTimeout()
{
    if (m_state != State::Stopping)
        return;
    network::ClientRegistry &clients = m_pipeline->clients;
    if (!clients.isEmpty())
        qCWarning(lcServer).noquote()
            << QStringLiteral("shutdown drain bound of %1 ms reached; cutting off %2 clients")
                   .arg(config().shutdownDrainMs)
                   .arg(clients.size());
    m_clientsClosed = true;
    clients.abortAll();
    m_network->endDrains();
    QMetaObject::invokeMethod(this, &ServerCoordinator::finishShutdown, Qt::QueuedConnection);
}

// Queued so that stopped() never fires inside the shutdown() call itself.
void ServerCoordinator::onConnectionClosed()
{
    if (m_state == State::Stopping && m_pipeline->clients.isEmpty())
        QMetaObject::invokeMethod(this, &ServerCoordinator::finishShutdown, Qt::QueuedConnection);
}

void ServerCoordinator::finishShutdown()
{
    // A closed client connection is drained until its peer closes too, so that what it was sent
    // last is not lost to a reset when the process exits.
    if (m_state != State::Stopping || !m_pipeline->clients.isEmpty() || m_network->isDraining())
        return;
    // Peers get what is still queued for them before the links close (docs/cluster.md §8).
    if (m_drain == Drain::NotStarted) {
        m_drain = Drain::Waiting;
        m_cluster->drain(config().leaveTimeoutMs);
    }
    if (m_drain != Drain::Done)
        return;
    m_cluster->stop();
    if (m_metrics)
        m_metrics->stop();
    m_storage->close();
    m_port = 0;
    m_clusterPort = 0;
    m_metricsPort = 0;
    m_state = State::Stopped;
    qCInfo(lcServer).noquote() << QStringLiteral("node %1 stopped").arg(nodeId());
    Q_EMIT stopped();
}

} // namespace wingman

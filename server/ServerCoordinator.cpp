#include "ServerCoordinator.h"

#include "auth/JwtVerifier.h"
#include "cluster/ClusterModule.h"
#include "network/NetworkModule.h"
#include "ops/MapRegistry.h"
#include "ops/OperationHandler.h"
#include "query/QueryHandler.h"
#include "query/QueryRegistry.h"
#include "sync/SyncHandler.h"
#include "storage/Storage.h"

#include <QTimer>
#include <QWebSocket>

namespace wingman {

Q_LOGGING_CATEGORY(lcServer, "wingman.server")

namespace {
// Clients that do not answer the close handshake in time are cut off so shutdown never hangs.
constexpr int kCloseHandshakeTimeoutMs = 3000;
constexpr int kShutdownRetryAfterMs = 5000;
} // namespace

ServerCoordinator::ServerCoordinator(ServerConfig config, Modules modules, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_network(modules.network)
    , m_cluster(modules.cluster)
    , m_storage(modules.storage)
    , m_verifier(std::move(modules.verifier))
    , m_configError(std::move(modules.configError))
    , m_maps(std::make_unique<ops::MapRegistry>(m_config.nodeId, m_config.clock))
    , m_queries(std::make_unique<query::QueryRegistry>())
    , m_queryHandler(
          std::make_unique<query::QueryHandler>(*m_maps, m_config.policy, *m_queries))
    , m_syncHandler(std::make_unique<sync::SyncHandler>(*m_maps, m_config.policy, *m_queries,
                                                        *m_storage, m_config.gcAgeMs))
    , m_operations(new ops::OperationHandler(*m_maps, m_config.policy, *m_queries, *m_storage, this))
{
    registerHandlers();
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
}

ServerCoordinator::~ServerCoordinator() = default;

void ServerCoordinator::registerHandlers()
{
    using network::ClientConnection;
    const auto bind = [this](const char *type, auto *target, auto method) {
        m_router.addHandler(QString::fromLatin1(type),
                            [target, method](ClientConnection &c, const QCborMap &message) {
                                (target->*method)(c, message);
                            });
    };
    bind("CLIENT_OP", m_operations, &ops::OperationHandler::handleClientOp);
    bind("OP_BATCH", m_operations, &ops::OperationHandler::handleOpBatch);
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
    if (m_state == State::Starting)
        m_cluster->start();
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

void ServerCoordinator::onStorageOpened()
{
    m_maps->load(m_storage->loadAll());
    m_storageOpen = true;
    maybeCompleteStartup();
}

void ServerCoordinator::onModuleFailed(const QString &reason)
{
    if (m_state != State::Starting)
        return;
    m_state = State::Failed;
    qCCritical(lcServer).noquote() << "startup failed:" << reason;
    m_network->stopListening();
    m_cluster->stop();
    m_storage->close();
    Q_EMIT startupFailed(reason);
}

void ServerCoordinator::maybeCompleteStartup()
{
    if (m_state == State::Starting && m_listeningPort != 0 && m_listeningClusterPort != 0
        && m_storageOpen)
        completeStartup(m_listeningPort, m_listeningClusterPort);
}

void ServerCoordinator::completeStartup(quint16 port, quint16 clusterPort)
{
    m_port = port;
    m_clusterPort = clusterPort;
    m_state = State::Ready;
    m_uptime.start();
    qCInfo(lcServer).noquote() << QStringLiteral("node %1 ready: client port %2, cluster port %3")
                                      .arg(m_config.nodeId)
                                      .arg(port)
                                      .arg(clusterPort);
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
    auto *connection = new network::ClientConnection(socket, id, *m_verifier, m_router, this);
    m_connections.insert(id, connection);
    connect(connection, &network::ClientConnection::authStateChanged, this,
            [this, id](network::AuthState state) {
                Q_EMIT connectionAuthStateChanged(id, state);
            });
    connect(connection, &network::ClientConnection::disconnected, this, [this, id, connection] {
        m_connections.remove(id);
        m_queries->removeConnection(connection);
        connection->deleteLater();
        Q_EMIT connectionClosed(id);
        // Queued so that stopped() never fires inside the shutdown() call itself.
        if (m_state == State::Stopping && m_connections.isEmpty())
            QMetaObject::invokeMethod(this, &ServerCoordinator::finishShutdown,
                                      Qt::QueuedConnection);
    });
    Q_EMIT connectionOpened(id);
    connection->start();
}

QList<ConnectionInfo> ServerCoordinator::connections() const
{
    QList<ConnectionInfo> result;
    result.reserve(m_connections.size());
    for (const network::ClientConnection *c : m_connections) {
        result.append({c->id(), c->remoteAddress(), c->authState(), c->principal(),
                       c->connectedAt(), c->messagesIn(), c->messagesOut(), c->bytesIn(),
                       c->bytesOut(), c->queuedBytes()});
    }
    std::sort(result.begin(), result.end(),
              [](const ConnectionInfo &a, const ConnectionInfo &b) { return a.id < b.id; });
    return result;
}

void ServerCoordinator::shutdown()
{
    if (m_state == State::Stopping || m_state == State::Stopped)
        return;
    const bool wasServing = m_state == State::Ready;
    m_state = State::Stopping;
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
    m_storage->close();
    m_port = 0;
    m_clusterPort = 0;
    m_state = State::Stopped;
    qCInfo(lcServer).noquote() << QStringLiteral("node %1 stopped").arg(m_config.nodeId);
    Q_EMIT stopped();
}

} // namespace wingman

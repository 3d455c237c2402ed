#include "network/NetworkModule.h"

#include "network/SocketDrain.h"

#include <QSslServer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>

namespace wingman::network {

Q_LOGGING_CATEGORY(lcNetwork, "wingman.network")

namespace {

// How long, and how much, a closed connection is drained before it is let go for good. Enough
// for the rest of a frame over the limit at loopback or LAN speed; discarding costs no memory.
// A larger maxFrameBytes raises the byte bound with it.
constexpr int kDrainLingerMs = 2000;
constexpr qint64 kMinDrainBytes = 64LL * 1024 * 1024;

QTcpServer *listenerFor(const std::optional<QSslConfiguration> &tls, QObject *parent)
{
    if (!tls)
        return new QTcpServer(parent);
    auto *server = new QSslServer(parent);
    server->setSslConfiguration(*tls);
    return server;
}

} // namespace

NetworkModule::NetworkModule(QHostAddress host, quint16 port, qint64 maxFrameBytes,
    std::optional<QSslConfiguration> tls, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_requestedPort(port)
    , m_maxFrameBytes(maxFrameBytes)
    , m_tcpServer(listenerFor(tls, this))
    , m_server(
          new QWebSocketServer(QStringLiteral("wingman"), QWebSocketServer::NonSecureMode, this))
{
    m_tcpServer->setMaxPendingConnections(1024);
    m_server->setMaxPendingConnections(1024);
    // Not newConnection: a TLS connection is pending only once its handshake is done.
    connect(m_tcpServer, &QTcpServer::pendingConnectionAvailable, this, &NetworkModule::acceptTcp);
    connect(m_server, &QWebSocketServer::newConnection, this, &NetworkModule::acceptPending);
    connect(m_tcpServer, &QTcpServer::acceptError, this, [](QAbstractSocket::SocketError error) {
        qCWarning(lcNetwork) << "accept error" << error;
    });
}

NetworkModule::~NetworkModule() = default;

void NetworkModule::start()
{
    if (!m_tcpServer->listen(m_host, m_requestedPort)) {
        Q_EMIT failed(QStringLiteral("cannot listen for clients on %1:%2: %3")
                          .arg(m_host.toString())
                          .arg(m_requestedPort)
                          .arg(m_tcpServer->errorString()));
        return;
    }
    Q_EMIT listening(m_tcpServer->serverPort());
}

void NetworkModule::stopListening()
{
    m_tcpServer->close();
}

void NetworkModule::endDrains()
{
    const QList<SocketDrain *> drains = m_drains;
    for (SocketDrain *drain : drains)
        drain->finish();
}

bool NetworkModule::isListening() const
{
    return m_tcpServer->isListening();
}

void NetworkModule::acceptTcp()
{
    const qint64 drainBytes = std::max(kMinDrainBytes, m_maxFrameBytes);
    while (QTcpSocket *socket = m_tcpServer->nextPendingConnection()) {
        // Acks and events are small frames written while earlier ones may be unacknowledged:
        // with Nagle's algorithm on they would wait for the client's delayed ACK.
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        connect(socket, &QIODevice::aboutToClose, this, [this, socket, drainBytes] {
            SocketDrain *drain = SocketDrain::attach(socket, drainBytes, kDrainLingerMs, this);
            if (!drain)
                return;
            m_drains.append(drain);
            connect(drain, &QObject::destroyed, this, [this, drain] {
                m_drains.removeOne(drain);
                if (m_drains.isEmpty())
                    Q_EMIT drainsFinished();
            });
        });
        m_server->handleConnection(socket);
    }
}

void NetworkModule::acceptPending()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        socket->setMaxAllowedIncomingFrameSize(quint64(m_maxFrameBytes));
        socket->setMaxAllowedIncomingMessageSize(quint64(m_maxFrameBytes));
        Q_EMIT socketAccepted(socket);
    }
}

} // namespace wingman::network

#include "network/NetworkModule.h"

#include <QWebSocket>
#include <QWebSocketServer>

namespace wingman::network {

Q_LOGGING_CATEGORY(lcNetwork, "wingman.network")

NetworkModule::NetworkModule(QHostAddress host, quint16 port, qint64 maxFrameBytes, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_requestedPort(port)
    , m_maxFrameBytes(maxFrameBytes)
    , m_server(
          new QWebSocketServer(QStringLiteral("wingman"), QWebSocketServer::NonSecureMode, this))
{
    m_server->setMaxPendingConnections(1024);
    connect(m_server, &QWebSocketServer::newConnection, this, &NetworkModule::acceptPending);
    connect(m_server, &QWebSocketServer::acceptError, this, [](QAbstractSocket::SocketError error) {
        qCWarning(lcNetwork) << "accept error" << error;
    });
}

NetworkModule::~NetworkModule() = default;

void NetworkModule::start()
{
    if (!m_server->listen(m_host, m_requestedPort)) {
        Q_EMIT failed(QStringLiteral("cannot listen for clients on %1:%2: %3")
                          .arg(m_host.toString())
                          .arg(m_requestedPort)
                          .arg(m_server->errorString()));
        return;
    }
    Q_EMIT listening(m_server->serverPort());
}

void NetworkModule::stopListening()
{
    m_server->close();
}

bool NetworkModule::isListening() const
{
    return m_server->isListening();
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

#include "cluster/ClusterModule.h"

#include <QTcpServer>
#include <QTcpSocket>

namespace wingman::cluster {

Q_LOGGING_CATEGORY(lcCluster, "wingman.cluster")

ClusterModule::ClusterModule(QHostAddress host, quint16 port, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_requestedPort(port)
    , m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::pendingConnectionAvailable, this, &ClusterModule::acceptPending);
}

ClusterModule::~ClusterModule() = default;

void ClusterModule::start()
{
    if (!m_server->listen(m_host, m_requestedPort)) {
        Q_EMIT failed(QStringLiteral("cannot listen for peers on %1:%2: %3")
                          .arg(m_host.toString())
                          .arg(m_requestedPort)
                          .arg(m_server->errorString()));
        return;
    }
    Q_EMIT listening(m_server->serverPort());
}

void ClusterModule::stop()
{
    m_server->close();
    const auto sockets = std::exchange(m_peerSockets, {});
    for (QTcpSocket *socket : sockets) {
        socket->abort();
        socket->deleteLater();
    }
}

int ClusterModule::peerSocketCount() const
{
    return int(m_peerSockets.size());
}

void ClusterModule::acceptPending()
{
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        qCDebug(lcCluster) << "peer socket from" << socket->peerAddress().toString();
        m_peerSockets.append(socket);
        connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
            m_peerSockets.removeOne(socket);
            socket->deleteLater();
        });
    }
}

} // namespace wingman::cluster

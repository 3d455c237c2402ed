#pragma once

#include <QHostAddress>
#include <QLoggingCategory>
#include <QObject>

class QTcpServer;
class QTcpSocket;

namespace wingman::cluster {

Q_DECLARE_LOGGING_CATEGORY(lcCluster)

// The peer-facing TCP listener. start() reports listening(port) with the port the OS actually
// bound, or failed(reason). Inbound peer sockets are held until the node stops.
class ClusterModule : public QObject
{
    Q_OBJECT
public:
    ClusterModule(QHostAddress host, quint16 port, QObject *parent = nullptr);
    ~ClusterModule() override;

    void start();
    // Stops accepting and closes every peer socket.
    void stop();
    int peerSocketCount() const;

Q_SIGNALS:
    void listening(quint16 port);
    void failed(const QString &reason);

private:
    void acceptPending();

    QHostAddress m_host;
    quint16 m_requestedPort;
    QTcpServer *m_server;
    QList<QTcpSocket *> m_peerSockets;
};

} // namespace wingman::cluster

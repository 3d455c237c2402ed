#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

class QTcpSocket;

namespace wingman::cluster {

// One TCP link to another node's cluster port. Frames are a 4-byte big-endian length followed by
// a compact JSON object. Both ends send HELLO (node id, protocol version, cluster port) and then a
// HEARTBEAT every interval; a link that hears nothing for three intervals is cut. An outbound link
// reconnects with a growing backoff until stop(); an inbound link ends when its socket does.
class PeerLink : public QObject
{
    Q_OBJECT
public:
    static constexpr int kProtocolVersion = 1;

    struct Identity {
        QString nodeId;
        quint16 clusterPort = 0;
    };

    // Outbound: connects to host:port on start().
    PeerLink(
        Identity local, QString host, quint16 port, int heartbeatMs, QObject *parent = nullptr);
    // Inbound: wraps a socket the cluster listener accepted; takes ownership.
    PeerLink(Identity local, QTcpSocket *socket, int heartbeatMs, QObject *parent = nullptr);
    ~PeerLink() override;

    void start();
    // Closes the socket and stops reconnecting; no further signals.
    void stop();

    bool isOutbound() const { return m_outbound; }
    bool isUp() const { return m_up; }
    // Empty until the remote's HELLO arrived.
    QString remoteNodeId() const { return m_remoteNodeId; }
    // host:port of the remote's cluster listener (from HELLO for inbound links).
    QString address() const;

Q_SIGNALS:
    // The remote's HELLO arrived.
    void up(const QString &nodeId);
    // A link that was up is gone; an outbound link tries again.
    void down(const QString &nodeId, const QString &reason);
    // An inbound link's socket is gone for good.
    void finished();

private:
    void wire();
    void connectToPeer();
    void onConnected();
    void onReadyRead();
    void onSocketGone(const QString &reason);
    void onHeartbeatTick();
    void handleFrame(const QJsonObject &frame);
    void sendFrame(const QJsonObject &frame);
    void scheduleReconnect();

    Identity m_local;
    bool m_outbound;
    QString m_host;
    quint16 m_port = 0;
    int m_heartbeatMs;
    QTcpSocket *m_socket = nullptr;
    QByteArray m_buffer;
    QTimer m_heartbeat;
    QTimer m_reconnect;
    QElapsedTimer m_lastHeard;
    int m_attempts = 0;
    bool m_up = false;
    bool m_stopped = false;
    QString m_remoteNodeId;
};

} // namespace wingman::cluster

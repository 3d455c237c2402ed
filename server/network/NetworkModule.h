#pragma once

#include <QHostAddress>
#include <QLoggingCategory>
#include <QObject>
#include <QSslConfiguration>

#include <optional>

class QTcpServer;
class QTcpSocket;
class QWebSocket;
class QWebSocketServer;

namespace wingman::network {

class SocketDrain;

Q_DECLARE_LOGGING_CATEGORY(lcNetwork)

// The client-facing WebSocket listener. start() reports listening(port) with the port the OS
// actually bound, or failed(reason); accepted sockets are handed out through socketAccepted().
// TCP connections are accepted here and handed to the WebSocket server, so that each one's close
// can be drained (SocketDrain): a peer still sending when it is closed, e.g. past maxFrameBytes,
// gets its close frame instead of a reset.
class NetworkModule : public QObject
{
    Q_OBJECT
public:
    // With tls, clients connect with wss://: the TLS handshake runs before the WebSocket one.
    NetworkModule(QHostAddress host, quint16 port, qint64 maxFrameBytes,
        std::optional<QSslConfiguration> tls = std::nullopt, QObject *parent = nullptr);
    ~NetworkModule() override;

    void start();
    // Stops accepting; connected sockets are not touched.
    void stopListening();
    bool isListening() const;
    // True while a closed connection is still being drained.
    bool isDraining() const { return !m_drains.isEmpty(); }
    // Ends every drain now; drainsFinished() follows.
    void endDrains();

Q_SIGNALS:
    void listening(quint16 port);
    void failed(const QString &reason);
    // The receiver takes ownership of the socket.
    void socketAccepted(QWebSocket *socket);
    // The last drain of a closed connection ended: its peer has closed too, or time ran out.
    void drainsFinished();

private:
    void acceptTcp();
    void acceptPending();

    QHostAddress m_host;
    quint16 m_requestedPort;
    qint64 m_maxFrameBytes;
    QTcpServer *m_tcpServer;
    QWebSocketServer *m_server;
    QList<SocketDrain *> m_drains;
};

} // namespace wingman::network

#pragma once

#include "client/SyncEngineConfig.h"

#include <QByteArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QObject>
#include <QSslError>
#include <QTimer>

class QWebSocket;

namespace wingman::client {

// The WebSocket a SyncEngine talks to the server through, one at a time: opens it, sends
// frames, and reports it lost when it closes, when AUTH_ACK is overdue or when PONGs stop. What
// to do about a loss (backoff, giving up) is the engine's business.
class SyncConnection : public QObject
{
    Q_OBJECT
public:
    explicit SyncConnection(const SyncEngineConfig &config, QObject *parent = nullptr);
    ~SyncConnection() override;

    // A new socket to the configured URL in place of any current one; the AUTH_ACK deadline
    // starts now.
    void open();
    // Tears the current socket down without signals; true if there was one.
    bool discard();
    // Changes with every discarded socket, so a handler notices its link went away.
    quint64 generation() const { return m_generation; }

    // Dropped when no socket is open.
    void send(const QCborMap &message);

    // One deadline from opening the socket to AUTH_ACK covers a handshake that hangs, a lost
    // AUTH_REQUIRED and a lost AUTH_ACK alike; sending AUTH starts it again.
    void armAuthDeadline();
    void stopAuthDeadline();
    // Authenticated: PING every heartbeat interval, lost when no PONG came for the timeout.
    void startHeartbeat();
    void notePong() { m_sinceLastPong.start(); }

Q_SIGNALS:
    void connected();
    void frameReceived(const QByteArray &frame);
    void lost(const QString &reason);

private:
    void onSocketClosed();
    void onHeartbeat();

    void onSslErrors(const QList<QSslError> &errors);

    QUrl m_url;
    QList<QSslCertificate> m_caCertificates;
    QList<QSslCertificate> m_pinnedCertificates;
    int m_authTimeoutMs;
    int m_heartbeatTimeoutMs;
    QWebSocket *m_socket = nullptr;
    quint64 m_generation = 0;
    QElapsedTimer m_sinceLastPong;
    QTimer m_authTimer;
    QTimer m_heartbeatTimer;
};

} // namespace wingman::client

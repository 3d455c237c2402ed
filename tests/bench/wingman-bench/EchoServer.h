#pragma once

#include <QByteArray>
#include <QObject>

#include <sys/types.h>

class QWebSocketServer;

namespace wingman::bench {

// The baseline: a bare QWebSocketServer that answers the first frame of a connection (AUTH) with
// AUTH_ACK and every later one with the same small pre-encoded OP_ACK. Same frames, no logic.
class EchoServer : public QObject
{
    Q_OBJECT
public:
    EchoServer();
    // Runs in the echo thread; returns the port, or 0.
    quint16 listen();

    pid_t threadId() const { return m_threadId; }

private:
    void accept();

    QByteArray m_authRequired;
    QByteArray m_authAck;
    QByteArray m_ack;
    QWebSocketServer *m_server = nullptr;
    pid_t m_threadId = 0;
};

} // namespace wingman::bench

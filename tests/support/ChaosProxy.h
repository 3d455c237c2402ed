#pragma once

#include <QObject>
#include <QRandomGenerator>
#include <QUrl>

class QWebSocket;
class QWebSocketServer;

namespace wingman::test {

// A WebSocket proxy on an OS-assigned loopback port in front of a server, for failure tests:
// added latency with jitter (order preserved), a message drop rate, a silent (black-hole) mode
// that swallows traffic both ways while keeping sockets open, and disconnectAll().
class ChaosProxy : public QObject
{
    Q_OBJECT
public:
    explicit ChaosProxy(QUrl upstream, QObject *parent = nullptr);
    ~ChaosProxy() override;

    bool start();
    quint16 port() const;
    QUrl url() const;

    void setLatency(int latencyMs, int jitterMs = 0);
    // Probability (0..1) that one message, either way, is lost.
    void setDropRate(double rate);
    void setSilent(bool silent);
    bool isSilent() const { return m_silent; }
    // Seeds the drop and jitter randomness, for repeatable runs.
    void setSeed(quint32 seed);
    void disconnectAll();

    int activeLinks() const { return int(m_links.size()); }
    quint64 droppedMessages() const { return m_dropped; }
    quint64 forwardedMessages() const { return m_forwarded; }

Q_SIGNALS:
    void linkOpened();
    void linkClosed();

private:
    struct Link;
    void acceptPending();
    void forward(Link *link, bool toServer, const QByteArray &data, bool binary);
    void closeLink(Link *link);

    QUrl m_upstream;
    QWebSocketServer *m_server;
    QList<Link *> m_links;
    QRandomGenerator m_random;
    int m_latencyMs = 0;
    int m_jitterMs = 0;
    double m_dropRate = 0.0;
    bool m_silent = false;
    quint64 m_dropped = 0;
    quint64 m_forwarded = 0;
};

} // namespace wingman::test

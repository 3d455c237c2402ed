#pragma once

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

class QTcpServer;
class QTcpSocket;

namespace wingman::test {

// A TCP proxy on an OS-assigned loopback port in front of one node's cluster port (the node
// advertises the proxy through clusterAdvertisePort). It reads the dialler's node id from its
// HELLO and applies a mode per dialler (else the default), switchable at run time: pass; cut
// (both sockets closed, new ones refused); black-hole (sockets stay open, bytes and closes held
// both ways until the mode changes, as TCP would retransmit them); delay (ms, order kept).
class TcpChaosProxy : public QObject
{
    Q_OBJECT
public:
    enum class Mode { Pass, Cut, BlackHole, Delay };

    explicit TcpChaosProxy(QObject *parent = nullptr);
    ~TcpChaosProxy() override;

    bool listen();
    quint16 port() const;
    void setUpstreamPort(quint16 port) { m_upstreamPort = port; }

    void setMode(Mode mode, int delayMs = 0);
    // For links whose HELLO came from `dialler`; overrides the default.
    void setModeFor(const QString &dialler, Mode mode, int delayMs = 0);

    int links() const { return int(m_links.size()); }
    quint64 acceptedLinks() const { return m_accepted; }
    quint64 forwardedBytes() const { return m_forwarded; }
    // Bytes a black hole held (delivered later if the mode changes while both ends are open).
    quint64 swallowedBytes() const { return m_swallowed; }

private:
    struct Link;
    struct Setting {
        Mode mode = Mode::Pass;
        int delayMs = 0;
    };
    void acceptPending();
    void onData(Link *link, bool fromDialler);
    void onClosed(Link *link, bool diallerSide);
    void forward(Link *link, bool fromDialler, const QByteArray &data);
    // Delivers what a black hole held, and a close that waited behind it.
    void release(Link *link);
    Setting settingFor(const Link *link) const;
    // graceful: what is queued still goes out (a peer closed); else both sockets are cut.
    void closeLink(Link *link, bool graceful = false);
    void applyModes();

    QTcpServer *m_server;
    quint16 m_upstreamPort = 0;
    Setting m_default;
    QHash<QString, Setting> m_byDialler;
    QList<Link *> m_links;
    quint64 m_accepted = 0;
    quint64 m_forwarded = 0;
    quint64 m_swallowed = 0;
};

} // namespace wingman::test

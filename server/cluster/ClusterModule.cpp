#include "cluster/ClusterModule.h"

#include "cluster/PeerLink.h"

#include <QTcpServer>
#include <QTcpSocket>

#include <algorithm>
#include <tuple>
#include <utility>

namespace wingman::cluster {

Q_LOGGING_CATEGORY(lcCluster, "wingman.cluster")

QString linkStateName(LinkState state)
{
    return state == LinkState::Up ? QStringLiteral("up") : QStringLiteral("down");
}

ClusterModule::ClusterModule(QHostAddress host, quint16 port, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_requestedPort(port)
    , m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::pendingConnectionAvailable, this, &ClusterModule::acceptPending);
}

ClusterModule::~ClusterModule() = default;

void ClusterModule::setMembership(const QString &nodeId, const QStringList &peers, int heartbeatMs)
{
    m_nodeId = nodeId;
    m_peers = peers;
    m_heartbeatMs = heartbeatMs > 0 ? heartbeatMs : 1000;
}

void ClusterModule::start()
{
    if (!m_server->listen(m_host, m_requestedPort)) {
        Q_EMIT failed(QStringLiteral("cannot listen for peers on %1:%2: %3")
                          .arg(m_host.toString())
                          .arg(m_requestedPort)
                          .arg(m_server->errorString()));
        return;
    }
    m_startedAt = QDateTime::currentDateTimeUtc();
    const PeerLink::Identity identity { m_nodeId, m_server->serverPort() };
    for (const QString &peer : std::as_const(m_peers)) {
        const qsizetype colon = peer.lastIndexOf(u':');
        auto *link = new PeerLink(
            identity, peer.left(colon), peer.mid(colon + 1).toUShort(), m_heartbeatMs, this);
        addLink(link);
        link->start();
    }
    Q_EMIT listening(m_server->serverPort());
}

void ClusterModule::stop()
{
    m_server->close();
    const auto links = std::exchange(m_links, {});
    for (PeerLink *link : links) {
        link->stop();
        link->deleteLater();
    }
    for (Member &member : m_members) {
        if (member.state == LinkState::Up) {
            member.state = LinkState::Down;
            member.since = QDateTime::currentDateTimeUtc();
        }
    }
}

int ClusterModule::peerSocketCount() const
{
    return int(std::count_if(
        m_links.cbegin(), m_links.cend(), [](const PeerLink *link) { return link->isUp(); }));
}

QList<Member> ClusterModule::members() const
{
    QList<Member> result = m_members.values();
    for (const PeerLink *link : m_links) {
        if (link->isOutbound() && link->remoteNodeId().isEmpty())
            result.append({ QString(), link->address(), LinkState::Down, m_startedAt });
    }
    std::sort(result.begin(), result.end(), [](const Member &a, const Member &b) {
        return std::tie(a.nodeId, a.address) < std::tie(b.nodeId, b.address);
    });
    return result;
}

void ClusterModule::acceptPending()
{
    const PeerLink::Identity identity { m_nodeId, m_server->serverPort() };
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        qCDebug(lcCluster) << "peer socket from" << socket->peerAddress().toString();
        auto *link = new PeerLink(identity, socket, m_heartbeatMs, this);
        addLink(link);
        connect(link, &PeerLink::finished, this, [this, link] {
            m_links.removeOne(link);
            link->deleteLater();
        });
        link->start();
    }
}

void ClusterModule::addLink(PeerLink *link)
{
    m_links.append(link);
    connect(link, &PeerLink::up, this,
        [this, link](const QString &nodeId) { onLinkUp(*link, nodeId); });
    connect(link, &PeerLink::down, this, &ClusterModule::onLinkDown);
}

void ClusterModule::onLinkUp(const PeerLink &link, const QString &nodeId)
{
    Member &member = m_members[nodeId];
    member.nodeId = nodeId;
    if (member.address.isEmpty() || link.isOutbound())
        member.address = link.address();
    if (member.state == LinkState::Up)
        return;
    member.state = LinkState::Up;
    member.since = QDateTime::currentDateTimeUtc();
    Q_EMIT memberUp(nodeId);
}

void ClusterModule::onLinkDown(const QString &nodeId, const QString &reason)
{
    const auto it = m_members.find(nodeId);
    if (it == m_members.end() || it->state == LinkState::Down || anyLinkUp(nodeId))
        return;
    it->state = LinkState::Down;
    it->since = QDateTime::currentDateTimeUtc();
    Q_EMIT memberDown(nodeId, reason);
}

bool ClusterModule::anyLinkUp(const QString &nodeId) const
{
    return std::any_of(m_links.cbegin(), m_links.cend(),
        [&nodeId](const PeerLink *link) { return link->isUp() && link->remoteNodeId() == nodeId; });
}

} // namespace wingman::cluster

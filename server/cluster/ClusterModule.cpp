#include "cluster/ClusterModule.h"

#include "cluster/FailureDetector.h"
#include "cluster/PeerHandshake.h"
#include "cluster/PeerLink.h"
#include "wire/MsgPackCodec.h"

#include <QCborArray>
#include <QRandomGenerator>
#include <QSslSocket>
#include <QTcpServer>
#include <QTcpSocket>
#include <QUuid>

#include <algorithm>
#include <utility>

namespace wingman::cluster {

Q_LOGGING_CATEGORY(lcCluster, "wingman.cluster")

namespace {

constexpr int kMaintenanceMs = 50;
constexpr int kMinBackoffMs = 100;
constexpr int kMaxBackoffMs = 2000;
constexpr int kDownBackoffMs = 5000;
constexpr int kSilentProbeIntervals = 3;
constexpr int kDrainPollMs = 20;

// Under TLS an accepted socket is a QSslSocket that starts its server-side handshake at once.
class ClusterServer : public QTcpServer
{
public:
    using QTcpServer::QTcpServer;
    std::optional<QSslConfiguration> tls;

protected:
    void incomingConnection(qintptr descriptor) override
    {
        if (!tls) {
            QTcpServer::incomingConnection(descriptor);
            return;
        }
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            delete socket;
            return;
        }
        socket->setSslConfiguration(*tls);
        addPendingConnection(socket);
        socket->startServerEncryption();
    }
};

QString failureReason(PeerLink::Failure failure)
{
    switch (failure) {
    case PeerLink::Failure::Tls:
        return QStringLiteral("tls");
    case PeerLink::Failure::Authentication:
        return QStringLiteral("authentication");
    case PeerLink::Failure::Version:
        return QStringLiteral("version");
    case PeerLink::Failure::Protocol:
        return QStringLiteral("protocol");
    default:
        return {};
    }
}

} // namespace

QString linkStateName(LinkState state)
{
    return state == LinkState::Up ? QStringLiteral("up") : QStringLiteral("down");
}

ClusterModule::ClusterModule(QHostAddress host, quint16 port, QObject *parent)
    : PeerBus(parent)
    , m_host(std::move(host))
    , m_requestedPort(port)
    , m_server(new ClusterServer(this))
{
    FailureDetector::Hooks hooks;
    hooks.targets = [this] { return probeTargets(); };
    hooks.relays = [this](const QString &target) { return relaysFor(target); };
    hooks.send = [this](const QString &nodeId, const QCborMap &frame) {
        PeerLink *link = m_linkOf.value(nodeId);
        return link && link->sendMap(frame);
    };
    hooks.silentMs = [this](const QString &nodeId) {
        const PeerLink *link = m_linkOf.value(nodeId);
        return link ? link->silentMs() : qint64(-1);
    };
    m_detector = new FailureDetector(std::move(hooks), this);
    connect(m_detector, &FailureDetector::probeFailed, this, &ClusterModule::onProbeFailed);
    connect(m_server, &QTcpServer::pendingConnectionAvailable, this, &ClusterModule::acceptPending);
    connect(&m_maintenance, &QTimer::timeout, this, &ClusterModule::maintain);
    m_joinTimer.setSingleShot(true);
    connect(&m_joinTimer, &QTimer::timeout, this, [this] {
        if (isJoining()) {
            qCInfo(lcCluster).noquote() << logPrefix() << "no catch-up within"
                                        << m_options.joinTimeoutMs << "ms; serving as up";
            endJoining();
        }
    });
    m_clock.start();
    connect(&m_drainTimer, &QTimer::timeout, this, [this] {
        const bool pending = m_started && m_pendingForPeers && m_pendingForPeers();
        if (pending && m_drainClock.elapsed() < m_drainTimeoutMs) {
            m_drainTimer.start(kDrainPollMs);
            return;
        }
        if (pending)
            qCWarning(lcCluster).noquote()
                << logPrefix()
                << QStringLiteral("leaving with changes still queued for peers after %1 ms")
                       .arg(m_drainTimeoutMs);
        Q_EMIT drained();
    });
    m_drainTimer.setSingleShot(true);
}

ClusterModule::~ClusterModule() = default;

void ClusterModule::configure(const ClusterOptions &options)
{
    m_options = options;
    m_highestVersion = options.tableVersion;
    static_cast<ClusterServer *>(m_server)->tls = options.tls;
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
    m_started = true;
    m_startedAt = QDateTime::currentDateTimeUtc();
    m_runId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    const quint16 port = m_options.advertisePort ? m_options.advertisePort : m_server->serverPort();
    MemberInfo self;
    self.nodeId = m_options.nodeId;
    self.clusterAddress = QStringLiteral("%1:%2").arg(m_options.advertiseHost).arg(port);
    self.clientEndpoint = m_options.clientEndpoint;
    self.state = MemberState::Joining;
    self.incarnation = QDateTime::currentMSecsSinceEpoch();
    m_membership.emplace(self);
    m_dials[self.clusterAddress].self = true;
    Q_EMIT listening(m_server->serverPort());

    m_maintenance.start(kMaintenanceMs);
    m_detector->start(m_options.probeIntervalMs);
    if (m_options.peers.isEmpty())
        endJoining();
    else
        m_joinTimer.start(m_options.joinTimeoutMs);
    dialMissing();
}

void ClusterModule::stop()
{
    m_server->close();
    if (!m_started)
        return;
    m_started = false;
    m_maintenance.stop();
    m_joinTimer.stop();
    m_detector->stop();
    if (m_membership->self().state != MemberState::Leaving) {
        m_membership->setSelfState(MemberState::Leaving);
        broadcastMembers({ m_membership->self() });
    }
    const auto links = std::exchange(m_links, {});
    const QStringList linked = m_linkOf.keys();
    m_linkOf.clear();
    for (const QString &id : linked)
        Q_EMIT linkDown(id);
    for (PeerLink *link : links) {
        link->disconnect(this);
        link->close(QStringLiteral("leaving"), QStringLiteral("leaving"));
        link->deleteLater();
    }
    for (Dial &dial : m_dials)
        dial.pending = nullptr;
    m_membership->setSelfState(MemberState::Left);
    Q_EMIT viewChanged();
}

void ClusterModule::drain(int timeoutMs)
{
    m_drainTimeoutMs = timeoutMs;
    m_drainClock.start();
    m_drainTimer.start(0);
}

void ClusterModule::leave()
{
    if (!m_started || m_membership->self().state == MemberState::Leaving)
        return;
    m_joinTimer.stop();
    m_membership->setSelfState(MemberState::Leaving);
    qCInfo(lcCluster).noquote() << logPrefix()
                                << QStringLiteral("node %1 leaving").arg(m_options.nodeId);
    broadcastMembers({ m_membership->self() });
    Q_EMIT membersChanged();
    Q_EMIT viewChanged();
}

QList<Member> ClusterModule::members() const
{
    QList<Member> result;
    if (!m_membership)
        return result;
    for (const MemberInfo &info : m_membership->all()) {
        if (info.nodeId == m_options.nodeId)
            continue;
        Member member;
        member.nodeId = info.nodeId;
        member.address = info.clusterAddress;
        member.state = m_linkOf.contains(info.nodeId) ? LinkState::Up : LinkState::Down;
        member.since = m_linkSince.value(info.nodeId, m_startedAt);
        member.memberState = info.state;
        member.incarnation = info.incarnation;
        member.rttMs = m_detector->rttMs(info.nodeId);
        member.probeFailures = m_detector->probeFailures(info.nodeId);
        member.clientEndpoint = info.clientEndpoint;
        result.append(member);
    }
    for (const QString &peer : m_options.peers) {
        const Dial dial = m_dials.value(peer);
        if (dial.nodeId.isEmpty() && !dial.self) {
            Member unanswered;
            unanswered.address = peer;
            unanswered.since = m_startedAt;
            result.append(unanswered);
        }
    }
    return result;
}

QList<MemberInfo> ClusterModule::memberInfos() const
{
    return m_membership ? m_membership->all() : QList<MemberInfo> {};
}

MemberState ClusterModule::localState() const
{
    return m_membership ? m_membership->self().state : MemberState::Joining;
}

double ClusterModule::rttMs(const QString &nodeId) const
{
    return m_detector->rttMs(nodeId);
}

quint64 ClusterModule::probeFailures(const QString &nodeId) const
{
    return m_detector->probeFailures(nodeId);
}

QStringList ClusterModule::replicaPeers() const
{
    QStringList peers;
    for (const MemberInfo &info : memberInfos()) {
        if (info.nodeId != m_options.nodeId
            && (info.state == MemberState::Joining || info.state == MemberState::Up
                || info.state == MemberState::Suspect || info.state == MemberState::Leaving
                || info.state == MemberState::Down))
            peers.append(info.nodeId);
    }
    return peers;
}

bool ClusterModule::isClustered() const
{
    // Asked on every commit: counts members rather than copying them.
    return !m_options.peers.isEmpty() || (m_membership && m_membership->size() > 1);
}

bool ClusterModule::isReachable(const QString &nodeId) const
{
    const MemberInfo *info = m_membership ? m_membership->find(nodeId) : nullptr;
    return m_linkOf.contains(nodeId) && info && info->state != MemberState::Down
        && info->state != MemberState::Left;
}

bool ClusterModule::send(const QString &nodeId, const QByteArray &body)
{
    PeerLink *link = m_linkOf.value(nodeId);
    return link && link->send(body);
}

Hello ClusterModule::localHello() const
{
    Hello hello;
    hello.nodeId = m_options.nodeId;
    hello.runId = m_runId;
    hello.incarnation = m_membership->self().incarnation;
    hello.clusterAddress = m_membership->self().clusterAddress;
    hello.clientEndpoint = m_options.clientEndpoint;
    hello.tableVersion = std::max(m_highestVersion, m_table.version());
    hello.gcHorizon = m_options.gcHorizon;
    return hello;
}

void ClusterModule::acceptPending()
{
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        if (!m_started) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        newLink(new PeerLink(localHello(), m_options.secret, socket, this))->start();
    }
}

PeerLink *ClusterModule::newLink(PeerLink *link)
{
    m_links.append(link);
    connect(link, &PeerLink::authenticated, this, [this, link] { onAuthenticated(link); });
    connect(link, &PeerLink::closed, this,
        [this, link](const QString &reason) { onLinkClosed(link, reason); });
    connect(link, &PeerLink::frameReceived, this,
        [this, link](const QString &type, const QByteArray &body) { onFrame(link, type, body); });
    return link;
}

void ClusterModule::dial(const QString &address)
{
    const qsizetype colon = address.lastIndexOf(u':');
    auto *link = new PeerLink(localHello(), m_options.secret, address.left(colon),
        address.mid(colon + 1).toUShort(), m_options.tls, this);
    link->setProperty("dialAddress", address);
    m_dials[address].pending = link;
    newLink(link)->start();
}

void ClusterModule::onAuthenticated(PeerLink *link)
{
    const Hello &remote = link->remote();
    const QString id = remote.nodeId;
    const QString dialAddress = link->property("dialAddress").toString();
    if (!dialAddress.isEmpty()) {
        Dial &dial = m_dials[dialAddress];
        dial.nodeId = id;
        dial.backoffMs = kMinBackoffMs;
    }
    if (PeerLink *existing = m_linkOf.value(id)) {
        if (existing->remote().runId != remote.runId) {
            qCInfo(lcCluster).noquote()
                << logPrefix() << QStringLiteral("peer %1 restarted").arg(id);
            existing->close(QStringLiteral("the peer restarted"));
        } else {
            // One link per pair: the one dialled by the lower id survives, at both ends.
            const auto dialler
                = [&](const PeerLink *l) { return l->isOutbound() ? m_options.nodeId : id; };
            const QString preferred = std::min(m_options.nodeId, id);
            if (dialler(link) != preferred || dialler(existing) == preferred) {
                link->close(QStringLiteral("duplicate"), QStringLiteral("duplicate"));
                return;
            }
            existing->close(QStringLiteral("duplicate"), QStringLiteral("duplicate"));
        }
    }
    m_linkOf.insert(id, link);
    m_linkSince.insert(id, QDateTime::currentDateTimeUtc());
    m_highestVersion = std::max(m_highestVersion, remote.tableVersion);
    qCInfo(lcCluster).noquote() << logPrefix()
                                << QStringLiteral("link to %1 up (%2)").arg(id, link->address());
    if (!m_membership->find(id)) {
        MemberInfo info;
        info.nodeId = id;
        info.clusterAddress = remote.clusterAddress;
        info.clientEndpoint = remote.clientEndpoint;
        info.incarnation = remote.incarnation;
        applyGossip({ info }, {});
    }
    sendFullMembers(id);
    if (!m_table.isEmpty())
        link->sendMap(tableFrame());
    Q_EMIT linkUp(id);
    Q_EMIT viewChanged();
}

void ClusterModule::onLinkClosed(PeerLink *link, const QString &reason)
{
    qCDebug(lcCluster).noquote()
        << logPrefix() << QStringLiteral("link %1 closed: %2").arg(link->address(), reason);
    m_links.removeOne(link);
    link->deleteLater();
    const QString dialAddress = link->property("dialAddress").toString();
    if (!dialAddress.isEmpty() && m_dials.value(dialAddress).pending == link) {
        Dial &dial = m_dials[dialAddress];
        dial.pending = nullptr;
        if (link->failure() == PeerLink::Failure::Self)
            dial.self = true;
    }
    if (const QString failure = failureReason(link->failure()); !failure.isEmpty()) {
        ++m_handshakeFailures[failure];
        qCWarning(lcCluster).noquote()
            << logPrefix()
            << QStringLiteral("cluster handshake with %1 refused: %2").arg(link->address(), reason);
    }
    const QString id = link->remote().nodeId;
    if (id.isEmpty() || m_linkOf.value(id) != link)
        return;
    m_linkOf.remove(id);
    m_linkSince.insert(id, QDateTime::currentDateTimeUtc());
    // Redial after the backoff, not at once: a peer that just dropped a link may drop the next.
    const qint64 now = m_clock.elapsed();
    if (!link->remote().clusterAddress.isEmpty())
        m_dials[link->remote().clusterAddress].nodeId = id;
    for (auto it = m_dials.begin(); it != m_dials.end(); ++it) {
        if (it->nodeId == id || it.key() == link->remote().clusterAddress) {
            it->nextAt = std::max(it->nextAt, now + it->backoffMs);
            it->backoffMs = std::min(it->backoffMs * 2, kMaxBackoffMs);
        }
    }
    qCInfo(lcCluster).noquote() << logPrefix()
                                << QStringLiteral("link to %1 down: %2").arg(id, reason);
    Q_EMIT linkDown(id);
    if (link->byeReason() == u"leaving")
        markMember(id, MemberState::Left, QStringLiteral("left the cluster"));
    Q_EMIT viewChanged();
}

void ClusterModule::onFrame(PeerLink *link, const QString &type, const QByteArray &body)
{
    const QString from = link->remote().nodeId;
    static const QStringList kOwn { QStringLiteral("MEMBERS"), QStringLiteral("PING"),
        QStringLiteral("ACK"), QStringLiteral("PING_REQ"), QStringLiteral("PARTITION_TABLE") };
    if (!kOwn.contains(type)) {
        Q_EMIT frameReceived(from, type, body);
        return;
    }
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    if (!decoded.ok || !decoded.value.isMap()) {
        link->close(QStringLiteral("an undecodable %1 frame").arg(type));
        return;
    }
    const QCborMap frame = decoded.value.toMap();
    if (type == u"PING") {
        m_detector->handlePing(from, frame);
    } else if (type == u"ACK") {
        m_detector->handleAck(from, frame);
    } else if (type == u"PING_REQ") {
        m_detector->handlePingReq(from, frame);
    } else if (type == u"PARTITION_TABLE") {
        handleTable(frame);
    } else {
        QList<MemberInfo> gossip;
        for (const QCborValue &value : frame.value(QStringLiteral("members")).toArray()) {
            if (const auto info = MemberInfo::fromCbor(value.toMap()))
                gossip.append(*info);
        }
        applyGossip(gossip, from);
    }
}

void ClusterModule::maintain()
{
    const qint64 silentLimit = qint64(kSilentProbeIntervals) * m_options.probeIntervalMs;
    for (PeerLink *link : std::as_const(m_linkOf)) {
        if (link->silentMs() > silentLimit) {
            // Queued: closing edits m_linkOf.
            QMetaObject::invokeMethod(
                link,
                [link, silent = link->silentMs()] {
                    link->close(QStringLiteral("heard nothing for %1 ms").arg(silent));
                },
                Qt::QueuedConnection);
        }
    }
    checkSuspects();
    if (m_clock.elapsed() - m_lastFullGossip >= 5000 && !m_linkOf.isEmpty()) {
        m_lastFullGossip = m_clock.elapsed();
        const QStringList ids = m_linkOf.keys();
        sendFullMembers(ids.at(QRandomGenerator::global()->bounded(ids.size())));
    }
    dialMissing();
}

void ClusterModule::dialMissing()
{
    if (!m_started)
        return;
    QStringList addresses = m_options.peers;
    for (const MemberInfo &info : m_membership->all()) {
        if (info.nodeId != m_options.nodeId && !info.clusterAddress.isEmpty()
            && info.state != MemberState::Left && info.state != MemberState::Leaving
            && !m_linkOf.contains(info.nodeId))
            addresses.append(info.clusterAddress);
    }
    const qint64 now = m_clock.elapsed();
    for (const QString &address : std::as_const(addresses)) {
        Dial &entry = m_dials[address];
        if (entry.self || entry.pending || now < entry.nextAt)
            continue;
        if (!entry.nodeId.isEmpty()) {
            const MemberInfo *info = m_membership->find(entry.nodeId);
            if (m_linkOf.contains(entry.nodeId) || (info && info->state == MemberState::Left))
                continue;
        }
        const bool linked = std::any_of(m_linkOf.cbegin(), m_linkOf.cend(),
            [&address](const PeerLink *link) { return link->remote().clusterAddress == address; });
        if (linked)
            continue;
        const MemberInfo *info
            = entry.nodeId.isEmpty() ? nullptr : m_membership->find(entry.nodeId);
        const int cap = info && info->state == MemberState::Down ? kDownBackoffMs : kMaxBackoffMs;
        entry.nextAt = now + entry.backoffMs;
        entry.backoffMs = std::min(entry.backoffMs * 2, cap);
        dial(address);
    }
}

} // namespace wingman::cluster

#include "metrics/MonitorFeed.h"

#include "auth/JwtVerifier.h"
#include "metrics/MetricsModule.h"
#include "status/NodeStatus.h"

#include <QJsonDocument>
#include <QMetaEnum>
#include <QUrlQuery>
#include <QWebSocket>

namespace wingman::metrics {

namespace {

constexpr int kAuthTimeoutMs = 5000;
constexpr auto kUnauthorized = QWebSocketProtocol::CloseCode(4001);
constexpr auto kForbidden = QWebSocketProtocol::CloseCode(4003);
const QString kAdminRole = QStringLiteral("ADMIN");

QString isoTime(const QDateTime &time)
{
    return time.toUTC().toString(Qt::ISODateWithMs);
}

QJsonObject trafficObject(const ConnectionInfo &info)
{
    return { { QStringLiteral("id"), double(info.id) },
        { QStringLiteral("messagesIn"), double(info.messagesIn) },
        { QStringLiteral("messagesOut"), double(info.messagesOut) },
        { QStringLiteral("bytesIn"), double(info.bytesIn) },
        { QStringLiteral("bytesOut"), double(info.bytesOut) },
        { QStringLiteral("queuedBytes"), double(info.queuedBytes) } };
}

QJsonObject connectionObject(const ConnectionInfo &info)
{
    QJsonObject object = trafficObject(info);
    object.insert(QStringLiteral("remoteAddress"), info.remoteAddress);
    object.insert(QStringLiteral("authState"), auth::authStateName(info.authState));
    object.insert(QStringLiteral("user"), info.principal.userId);
    object.insert(QStringLiteral("roles"), QJsonArray::fromStringList(info.principal.roles));
    object.insert(QStringLiteral("connectedAt"), isoTime(info.connectedAt));
    return object;
}

QString stateName(status::NodeStatus::State state)
{
    return QString::fromLatin1(
        QMetaEnum::fromType<status::NodeStatus::State>().valueToKey(int(state)))
        .toLower();
}

} // namespace

MonitorFeed::MonitorFeed(QObject *parent)
    : QObject(parent)
{
    connect(&m_statsTimer, &QTimer::timeout, this, &MonitorFeed::sendStats);
}

MonitorFeed::~MonitorFeed() = default;

void MonitorFeed::attach(
    status::NodeStatus *node, const auth::JwtVerifier *verifier, int intervalMs)
{
    m_node = node;
    m_verifier = verifier;
    m_statsTimer.setInterval(intervalMs > 0 ? intervalMs : 1000);
    connect(node, &status::NodeStatus::connectionOpened, this, &MonitorFeed::onConnectionOpened);
    connect(node, &status::NodeStatus::connectionAuthStateChanged, this,
        [this](quint64 id) { onConnectionChanged(id); });
    connect(node, &status::NodeStatus::connectionClosed, this, [this](quint64 id) {
        broadcast({ { QStringLiteral("type"), QStringLiteral("connection-closed") },
            { QStringLiteral("id"), double(id) } });
    });
    connect(node, &status::NodeStatus::membershipChanged, this, [this] {
        broadcast({ { QStringLiteral("type"), QStringLiteral("members") },
            { QStringLiteral("members"), membersArray() } });
    });
    connect(node, &status::NodeStatus::notableEvent, this, &MonitorFeed::onEvent);
}

int MonitorFeed::subscriberCount() const
{
    return int(m_subscribers.size());
}

void MonitorFeed::addSubscriber(QWebSocket *socket)
{
    socket->setParent(this);
    m_subscribers.append({ socket, false });
    connect(socket, &QWebSocket::disconnected, this, [this, socket] {
        m_subscribers.removeIf([socket](const Subscriber &s) { return s.socket == socket; });
        if (m_subscribers.isEmpty())
            m_statsTimer.stop();
        socket->deleteLater();
    });
    const QString token = QUrlQuery(socket->requestUrl())
                              .queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
    if (!token.isEmpty()) {
        authenticate(socket, token);
        return;
    }
    connect(socket, &QWebSocket::textMessageReceived, this, [this, socket](const QString &text) {
        const QJsonObject message = QJsonDocument::fromJson(text.toUtf8()).object();
        if (message.value(QStringLiteral("type")).toString() != u"auth") {
            refuse(
                socket, kUnauthorized, QStringLiteral("Unauthorized: send an auth message first"));
            return;
        }
        authenticate(socket, message.value(QStringLiteral("token")).toString());
    });
    QTimer::singleShot(kAuthTimeoutMs, socket, [this, socket] {
        const auto it = std::find_if(m_subscribers.cbegin(), m_subscribers.cend(),
            [socket](const Subscriber &s) { return s.socket == socket; });
        if (it != m_subscribers.cend() && !it->admitted)
            refuse(socket, kUnauthorized, QStringLiteral("Unauthorized: no token"));
    });
}

void MonitorFeed::authenticate(QWebSocket *socket, const QString &token)
{
    const auto it = std::find_if(m_subscribers.begin(), m_subscribers.end(),
        [socket](const Subscriber &s) { return s.socket == socket; });
    if (it == m_subscribers.end() || it->admitted)
        return;
    const auth::JwtVerifier *verifier = m_verifier;
    if (!verifier) {
        refuse(socket, kUnauthorized, QStringLiteral("Unauthorized: the node has no usable key"));
        return;
    }
    const auth::JwtVerifier::Result result
        = verifier->verify(token.toUtf8(), QDateTime::currentSecsSinceEpoch());
    if (!result.ok) {
        refuse(socket, kUnauthorized, QStringLiteral("Unauthorized: %1").arg(result.error));
        return;
    }
    if (!result.principal.hasRole(kAdminRole)) {
        refuse(socket, kForbidden,
            QStringLiteral("Forbidden: the monitor feed needs the ADMIN role; %1 has %2")
                .arg(result.principal.userId, result.principal.roles.join(u',')));
        return;
    }
    it->admitted = true;
    disconnect(socket, &QWebSocket::textMessageReceived, this, nullptr);
    qCInfo(lcMetrics).noquote() << QStringLiteral("monitor feed opened for %1 from %2")
                                       .arg(result.principal.userId,
                                           socket->peerAddress().toString());
    QJsonObject frame = snapshot();
    frame.insert(QStringLiteral("type"), QStringLiteral("snapshot"));
    socket->sendTextMessage(QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    if (!m_statsTimer.isActive())
        m_statsTimer.start();
}

void MonitorFeed::refuse(QWebSocket *socket, int code, const QString &reason)
{
    qCInfo(lcMetrics).noquote() << QStringLiteral("monitor feed refused for %1: %2")
                                       .arg(socket->peerAddress().toString(), reason);
    const QJsonObject frame { { QStringLiteral("type"), QStringLiteral("refused") },
        { QStringLiteral("reason"), reason } };
    socket->sendTextMessage(QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    socket->close(QWebSocketProtocol::CloseCode(code), reason.left(120));
}

void MonitorFeed::closeAll()
{
    m_statsTimer.stop();
    const auto subscribers = std::exchange(m_subscribers, {});
    for (const Subscriber &s : subscribers) {
        s.socket->disconnect(this);
        s.socket->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("Node stopped"));
        s.socket->deleteLater();
    }
}

void MonitorFeed::broadcast(const QJsonObject &frame)
{
    QString text;
    for (const Subscriber &s : std::as_const(m_subscribers)) {
        if (!s.admitted)
            continue;
        if (text.isEmpty())
            text = QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact));
        s.socket->sendTextMessage(text);
    }
}

void MonitorFeed::sendStats()
{
    QJsonArray traffic;
    for (const ConnectionInfo &info : m_node->connections())
        traffic.append(trafficObject(info));
    broadcast({ { QStringLiteral("type"), QStringLiteral("stats") },
        { QStringLiteral("state"), stateName(m_node->state()) },
        { QStringLiteral("uptimeMs"), double(m_node->uptimeMs()) },
        { QStringLiteral("counters"), countersObject() }, { QStringLiteral("traffic"), traffic },
        { QStringLiteral("cluster"), clusterObject() },
        { QStringLiteral("members"), membersArray() } });
}

void MonitorFeed::onConnectionOpened(quint64 id)
{
    if (const auto info = m_node->connection(id)) {
        broadcast({ { QStringLiteral("type"), QStringLiteral("connection-opened") },
            { QStringLiteral("connection"), connectionObject(*info) } });
    }
}

void MonitorFeed::onConnectionChanged(quint64 id)
{
    if (const auto info = m_node->connection(id)) {
        broadcast({ { QStringLiteral("type"), QStringLiteral("connection-changed") },
            { QStringLiteral("connection"), connectionObject(*info) } });
    }
}

void MonitorFeed::onEvent(const QString &kind, const QString &detail)
{
    const QJsonObject event { { QStringLiteral("at"), isoTime(QDateTime::currentDateTimeUtc()) },
        { QStringLiteral("kind"), kind }, { QStringLiteral("detail"), detail } };
    m_recentEvents.append(event);
    if (m_recentEvents.size() > kRecentEvents)
        m_recentEvents.removeFirst();
    broadcast({ { QStringLiteral("type"), QStringLiteral("event") },
        { QStringLiteral("event"), event } });
}

QJsonObject MonitorFeed::snapshot() const
{
    QJsonArray connections;
    for (const ConnectionInfo &info : m_node->connections())
        connections.append(connectionObject(info));
    QJsonArray events;
    for (const QJsonObject &event : m_recentEvents)
        events.append(event);
    return { { QStringLiteral("node"), nodeObject() },
        { QStringLiteral("connections"), connections },
        { QStringLiteral("members"), membersArray() },
        { QStringLiteral("counters"), countersObject() }, { QStringLiteral("events"), events } };
}

QJsonObject MonitorFeed::nodeObject() const
{
    return { { QStringLiteral("nodeId"), m_node->nodeId() },
        { QStringLiteral("host"), m_node->host() }, { QStringLiteral("port"), int(m_node->port()) },
        { QStringLiteral("clusterPort"), int(m_node->clusterPort()) },
        { QStringLiteral("metricsPort"), int(m_node->metricsPort()) },
        { QStringLiteral("state"), stateName(m_node->state()) },
        { QStringLiteral("uptimeMs"), double(m_node->uptimeMs()) },
        { QStringLiteral("cluster"), clusterObject() } };
}

QJsonObject MonitorFeed::clusterObject() const
{
    const status::ClusterStatus cluster = m_node->clusterStatus();
    return { { QStringLiteral("state"), cluster.state },
        { QStringLiteral("coordinator"), cluster.coordinator },
        { QStringLiteral("tableVersion"), double(cluster.tableVersion) },
        { QStringLiteral("partitionsOwned"), cluster.partitionsOwned },
        { QStringLiteral("partitionsBackup"), cluster.partitionsBackup } };
}

QJsonObject MonitorFeed::countersObject() const
{
    const status::NodeCounters c = m_node->counterTotals();
    return { { QStringLiteral("connectionsAccepted"), double(c.connectionsAccepted) },
        { QStringLiteral("authFailures"), double(c.authFailures) },
        { QStringLiteral("opsApplied"), double(c.opsApplied) },
        { QStringLiteral("opsRejected"), double(c.opsRejected) },
        { QStringLiteral("opsDropped"), double(c.opsDropped) },
        { QStringLiteral("acksSent"), double(c.acksSent) },
        { QStringLiteral("bytesIn"), double(c.bytesIn) },
        { QStringLiteral("bytesOut"), double(c.bytesOut) },
        { QStringLiteral("messagesIn"), double(c.messagesIn) },
        { QStringLiteral("messagesOut"), double(c.messagesOut) },
        { QStringLiteral("slowConsumerDrops"), double(c.slowConsumerDrops) },
        { QStringLiteral("gcRuns"), double(c.gcRuns) },
        { QStringLiteral("replicateChangesSent"), double(c.replicateChangesSent) },
        { QStringLiteral("replicateChangesReceived"), double(c.replicateChangesReceived) },
        { QStringLiteral("replicationQueueBytes"), double(c.replicationQueueBytes) },
        { QStringLiteral("acksDegraded"), double(c.acksDegraded) } };
}

QJsonArray MonitorFeed::membersArray() const
{
    const status::NodeCounters counters = m_node->counterTotals();
    QJsonArray members;
    for (const cluster::Member &member : m_node->members()) {
        const auto replication = counters.replicationByPeer.value(member.nodeId);
        members.append(QJsonObject { { QStringLiteral("nodeId"), member.nodeId },
            { QStringLiteral("address"), member.address },
            { QStringLiteral("state"), cluster::linkStateName(member.state) },
            { QStringLiteral("since"), isoTime(member.since) },
            { QStringLiteral("membership"),
                member.nodeId.isEmpty() ? QString()
                                        : cluster::memberStateName(member.memberState) },
            { QStringLiteral("incarnation"), double(member.incarnation) },
            { QStringLiteral("rttMs"), member.rttMs },
            { QStringLiteral("hintQueueBytes"), double(replication.queueBytes) },
            { QStringLiteral("changesSent"), double(replication.changesSent) },
            { QStringLiteral("changesReceived"), double(replication.changesReceived) } });
    }
    return members;
}

} // namespace wingman::metrics

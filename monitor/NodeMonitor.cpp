#include "NodeMonitor.h"

#include "ConnectionsModel.h"
#include "EventsModel.h"
#include "MembersModel.h"

#include <QDateTime>
#include <QJsonArray>

namespace wingman::monitor {

NodeMonitor::NodeMonitor(QUrl endpoint, QByteArray token, QObject *parent)
    : QObject(parent)
    , m_endpoint(std::move(endpoint))
    , m_token(std::move(token))
    , m_feed(new FeedClient(this))
    , m_connections(new ConnectionsModel(this))
    , m_members(new MembersModel(this))
    , m_events(new EventsModel(this))
{
    connect(m_feed, &FeedClient::frameReceived, this, &NodeMonitor::onFrame);
    connect(m_feed, &FeedClient::stateChanged, this, &NodeMonitor::onFeedState);
}

NodeMonitor::~NodeMonitor() = default;

QUrl NodeMonitor::endpointFromText(const QString &text, quint16 defaultPort)
{
    const QString trimmed = text.trimmed();
    QUrl url(
        trimmed.contains(u"://") ? trimmed : QStringLiteral("http://") + trimmed, QUrl::StrictMode);
    const bool bare = url.userInfo().isEmpty() && (url.path().isEmpty() || url.path() == u"/")
        && !url.hasQuery() && !url.hasFragment();
    if (!url.isValid() || (url.scheme() != u"http" && url.scheme() != u"https")
        || url.host().isEmpty() || !bare)
        return {};
    if (url.port() <= 0) {
        if (defaultPort == 0)
            return {};
        url.setPort(defaultPort);
    }
    url.setPath({});
    return url;
}

void NodeMonitor::start()
{
    m_feed->open(m_endpoint, m_token);
}

void NodeMonitor::stop()
{
    m_feed->close();
}

QString NodeMonitor::address() const
{
    const QString hostPort = m_endpoint.authority();
    return m_endpoint.scheme() == u"https" ? QStringLiteral("https://") + hostPort : hostPort;
}

QString NodeMonitor::title() const
{
    return m_status.nodeId.isEmpty() ? address() : m_status.nodeId;
}

void NodeMonitor::onFeedState(FeedClient::State state)
{
    if (state == FeedClient::State::Connected) {
        m_hadFeed = true;
        m_reportedTlsError.clear();
    } else if (state == FeedClient::State::TlsFailed) {
        m_hadFeed = false;
        m_status.state = QStringLiteral("unreachable");
        if (m_feed->lastError() != m_reportedTlsError) {
            m_reportedTlsError = m_feed->lastError();
            m_events->append(QStringLiteral("feed-tls-error"), m_reportedTlsError);
        }
    } else if (state == FeedClient::State::Disconnected && m_hadFeed) {
        m_hadFeed = false;
        m_events->append(QStringLiteral("feed-lost"),
            tr("lost the feed of %1: %2").arg(address(), m_feed->lastError()));
        m_status.state = QStringLiteral("unreachable");
    } else if (state == FeedClient::State::Refused) {
        m_events->append(QStringLiteral("feed-refused"), m_feed->lastError());
    }
    Q_EMIT statusChanged();
}

void NodeMonitor::onFrame(const QJsonObject &frame)
{
    const QString type = frame.value(QStringLiteral("type")).toString();
    if (type == u"snapshot") {
        applyNode(frame.value(QStringLiteral("node")).toObject());
        m_connections->reset(frame.value(QStringLiteral("connections")).toArray());
        m_members->reset(frame.value(QStringLiteral("members")).toArray());
        if (m_events->rowCount() == 0) {
            for (const QJsonValue &event : frame.value(QStringLiteral("events")).toArray())
                m_events->append(event.toObject());
        }
        applyCounters(frame.value(QStringLiteral("counters")).toObject());
        m_lastOps = m_status.opsApplied + m_status.opsRejected;
        m_sinceLastSample.start();
        addSample();
    } else if (type == u"connection-opened" || type == u"connection-changed") {
        m_connections->upsert(frame.value(QStringLiteral("connection")).toObject());
    } else if (type == u"connection-closed") {
        m_connections->remove(quint64(frame.value(QStringLiteral("id")).toDouble()));
    } else if (type == u"members") {
        m_members->reset(frame.value(QStringLiteral("members")).toArray());
    } else if (type == u"event") {
        m_events->append(frame.value(QStringLiteral("event")).toObject());
    } else if (type == u"stats") {
        m_status.state = frame.value(QStringLiteral("state")).toString();
        m_status.uptimeMs = qint64(frame.value(QStringLiteral("uptimeMs")).toDouble());
        applyCounters(frame.value(QStringLiteral("counters")).toObject());
        m_connections->updateTraffic(frame.value(QStringLiteral("traffic")).toArray());
        applyCluster(frame.value(QStringLiteral("cluster")).toObject());
        if (frame.contains(QStringLiteral("members")))
            m_members->reset(frame.value(QStringLiteral("members")).toArray());
        addSample();
    } else {
        return;
    }
    Q_EMIT statusChanged();
}

void NodeMonitor::applyNode(const QJsonObject &node)
{
    m_status.nodeId = node.value(QStringLiteral("nodeId")).toString();
    m_status.port = quint16(node.value(QStringLiteral("port")).toInt());
    m_status.clusterPort = quint16(node.value(QStringLiteral("clusterPort")).toInt());
    m_status.metricsPort = quint16(node.value(QStringLiteral("metricsPort")).toInt());
    m_status.state = node.value(QStringLiteral("state")).toString();
    m_status.uptimeMs = qint64(node.value(QStringLiteral("uptimeMs")).toDouble());
    applyCluster(node.value(QStringLiteral("cluster")).toObject());
}

void NodeMonitor::applyCluster(const QJsonObject &cluster)
{
    if (cluster.isEmpty())
        return;
    m_status.clusterState = cluster.value(QStringLiteral("state")).toString();
    m_status.coordinator = cluster.value(QStringLiteral("coordinator")).toString();
    m_status.tableVersion = qint64(cluster.value(QStringLiteral("tableVersion")).toDouble());
    m_status.partitionsOwned = cluster.value(QStringLiteral("partitionsOwned")).toInt();
    m_status.partitionsBackup = cluster.value(QStringLiteral("partitionsBackup")).toInt();
}

void NodeMonitor::applyCounters(const QJsonObject &counters)
{
    const auto count = [&counters](const char *name) {
        return quint64(counters.value(QLatin1String(name)).toDouble());
    };
    m_status.opsApplied = count("opsApplied");
    m_status.opsRejected = count("opsRejected");
    m_status.authFailures = count("authFailures");
    m_status.slowConsumerDrops = count("slowConsumerDrops");
    m_status.replicateChangesSent = count("replicateChangesSent");
    m_status.replicateChangesReceived = count("replicateChangesReceived");
    m_status.acksDegraded = count("acksDegraded");
}

void NodeMonitor::addSample()
{
    const quint64 ops = m_status.opsApplied + m_status.opsRejected;
    const qint64 elapsedMs = m_sinceLastSample.isValid() ? m_sinceLastSample.restart() : 0;
    Sample sample;
    sample.atMs = QDateTime::currentMSecsSinceEpoch();
    sample.opsPerSecond = elapsedMs > 0 && ops >= m_lastOps
        ? double(ops - m_lastOps) * 1000.0 / double(elapsedMs)
        : 0.0;
    sample.connections = m_connections->rowCount();
    m_lastOps = ops;
    m_history.append(sample);
    if (m_history.size() > kHistorySamples)
        m_history.removeFirst();
    Q_EMIT sampled(sample);
}

} // namespace wingman::monitor

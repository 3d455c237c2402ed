#pragma once

#include "FeedClient.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QUrl>

namespace wingman::monitor {

class ConnectionsModel;
class EventsModel;
class MembersModel;

// Everything the monitor knows about one node, kept current from its feed: the header figures,
// the connections, members and events models, and a history of ops/s and connection counts.
class NodeMonitor : public QObject
{
    Q_OBJECT
public:
    static constexpr int kHistorySamples = 600;

    struct Status {
        QString nodeId;
        quint16 port = 0;
        quint16 clusterPort = 0;
        quint16 metricsPort = 0;
        QString state;
        qint64 uptimeMs = 0;
        quint64 opsApplied = 0;
        quint64 opsRejected = 0;
        quint64 authFailures = 0;
        quint64 slowConsumerDrops = 0;
        // The cluster as this node sees it.
        QString clusterState; // its own membership state
        QString coordinator;
        qint64 tableVersion = 0;
        int partitionsOwned = 0;
        int partitionsBackup = 0;
        quint64 replicateChangesSent = 0;
        quint64 replicateChangesReceived = 0;
        quint64 acksDegraded = 0;
    };
    struct Sample {
        qint64 atMs = 0; // epoch ms
        double opsPerSecond = 0;
        int connections = 0;
    };

    // endpoint: the node's metrics port as http://host:port, or https://host:port when it serves
    // TLS (see endpointFromText).
    NodeMonitor(QUrl endpoint, QByteArray token, QObject *parent = nullptr);
    ~NodeMonitor() override;

    // What an operator types for a node: host:port, http://host:port or https://host:port; the
    // port may be left out when defaultPort is given. Invalid for anything else.
    static QUrl endpointFromText(const QString &text, quint16 defaultPort = 0);

    void start();
    void stop();

    QUrl endpoint() const { return m_endpoint; }
    QString host() const { return m_endpoint.host(); }
    quint16 metricsPort() const { return quint16(m_endpoint.port()); }
    // host:port, with https:// in front for a node reached over TLS.
    QString address() const;
    // The node id once known, else host:port.
    QString title() const;
    const Status &status() const { return m_status; }
    FeedClient &feed() { return *m_feed; }
    FeedClient::State feedState() const { return m_feed->state(); }
    ConnectionsModel *connections() const { return m_connections; }
    MembersModel *members() const { return m_members; }
    EventsModel *events() const { return m_events; }
    const QList<Sample> &history() const { return m_history; }
    double opsPerSecond() const { return m_history.isEmpty() ? 0 : m_history.last().opsPerSecond; }

Q_SIGNALS:
    void statusChanged();
    void sampled(const wingman::monitor::NodeMonitor::Sample &sample);

private:
    void onFrame(const QJsonObject &frame);
    void onFeedState(FeedClient::State state);
    void applyNode(const QJsonObject &node);
    void applyCounters(const QJsonObject &counters);
    void applyCluster(const QJsonObject &cluster);
    void addSample();

    QUrl m_endpoint;
    QByteArray m_token;
    FeedClient *m_feed;
    ConnectionsModel *m_connections;
    MembersModel *m_members;
    EventsModel *m_events;
    Status m_status;
    QList<Sample> m_history;
    quint64 m_lastOps = 0;
    QElapsedTimer m_sinceLastSample;
    bool m_hadFeed = false;
    // The TLS failure last put in the events, so that retries that fail alike add no more.
    QString m_reportedTlsError;
};

} // namespace wingman::monitor

#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QTimer>

class QWebSocket;

namespace wingman::auth {
class JwtVerifier;
}
namespace wingman::status {
class NodeStatus;
}

namespace wingman::metrics {

// The live monitor feed: JSON text frames to admin subscribers. A subscriber authenticates with
// a JWT carrying the ADMIN role, as ?token= on the URL or as a first message
// {"type":"auth","token":"..."}; it then gets a "snapshot" and after that deltas
// ("connection-opened", "connection-changed", "connection-closed", "members", "event", and a
// "stats" frame every interval). A refused subscriber gets {"type":"refused","reason":...} and
// is closed with 4001 (no or bad token) or 4003 (not an admin).
class MonitorFeed : public QObject
{
    Q_OBJECT
public:
    static constexpr int kRecentEvents = 200;

    explicit MonitorFeed(QObject *parent = nullptr);
    ~MonitorFeed() override;

    // verifier checks subscribers' tokens; without one every subscriber is refused.
    void attach(status::NodeStatus *node, const auth::JwtVerifier *verifier, int intervalMs);
    // Takes ownership of an upgraded socket.
    void addSubscriber(QWebSocket *socket);
    void closeAll();
    int subscriberCount() const;

    QJsonObject snapshot() const;

private:
    struct Subscriber {
        QWebSocket *socket = nullptr;
        bool admitted = false;
    };

    void authenticate(QWebSocket *socket, const QString &token);
    void refuse(QWebSocket *socket, int code, const QString &reason);
    void broadcast(const QJsonObject &frame);
    void sendStats();
    void onConnectionOpened(quint64 id);
    void onConnectionChanged(quint64 id);
    void onEvent(const QString &kind, const QString &detail);
    QJsonObject nodeObject() const;
    QJsonObject countersObject() const;
    QJsonArray membersArray() const;
    QJsonObject clusterObject() const;

    status::NodeStatus *m_node = nullptr;
    const auth::JwtVerifier *m_verifier = nullptr;
    QList<Subscriber> m_subscribers;
    QList<QJsonObject> m_recentEvents;
    QTimer m_statsTimer;
};

} // namespace wingman::metrics

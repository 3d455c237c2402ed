#pragma once

#include <QHostAddress>
#include <QLoggingCategory>
#include <QObject>
#include <QSslConfiguration>

#include <optional>

class QHttpServer;

namespace wingman::auth {
class JwtVerifier;
}
namespace wingman::status {
class NodeStatus;
}

namespace wingman::metrics {

Q_DECLARE_LOGGING_CATEGORY(lcMetrics)

class MonitorFeed;

// The operator's HTTP listener on metricsPort: /metrics (Prometheus text), /health, /ready and
// the monitor feed (a WebSocket on /feed). start() reports listening(port) with the port the OS
// bound, or failed(reason).
class MetricsModule : public QObject
{
    Q_OBJECT
public:
    // With tls: HTTPS, and the feed over wss://.
    MetricsModule(QHostAddress host, quint16 port,
        std::optional<QSslConfiguration> tls = std::nullopt, QObject *parent = nullptr);
    ~MetricsModule() override;

    // The node whose numbers are served; the coordinator calls it once, before start().
    void attach(status::NodeStatus *node, const auth::JwtVerifier *verifier, int feedIntervalMs);
    void start();
    // Closes the listener and every feed subscriber.
    void stop();
    MonitorFeed &feed() { return *m_feed; }

Q_SIGNALS:
    void listening(quint16 port);
    void failed(const QString &reason);

private:
    void registerRoutes();
    void acceptWebSockets();

    QHostAddress m_host;
    quint16 m_requestedPort;
    std::optional<QSslConfiguration> m_tls;
    QHttpServer *m_http = nullptr;
    MonitorFeed *m_feed;
    status::NodeStatus *m_node = nullptr;
};

} // namespace wingman::metrics

#include "metrics/MetricsModule.h"

#include "metrics/MonitorFeed.h"
#include "metrics/PrometheusText.h"
#include "status/NodeStatus.h"

#include <QHttpServer>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QHttpServerResponse>
#include <QMetaEnum>
#include <QSslServer>
#include <QTcpServer>
#include <QWebSocket>

namespace wingman::metrics {

Q_LOGGING_CATEGORY(lcMetrics, "wingman.metrics")

namespace {
const QByteArray kTextPlain = QByteArrayLiteral("text/plain; charset=utf-8");
const QByteArray kPrometheusType = QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8");
constexpr auto kNotFound = QWebSocketProtocol::CloseCode(4004);
} // namespace

MetricsModule::MetricsModule(
    QHostAddress host, quint16 port, std::optional<QSslConfiguration> tls, QObject *parent)
    : QObject(parent)
    , m_host(std::move(host))
    , m_requestedPort(port)
    , m_tls(std::move(tls))
    , m_feed(new MonitorFeed(this))
{ }

MetricsModule::~MetricsModule() = default;

void MetricsModule::attach(
    status::NodeStatus *node, const auth::JwtVerifier *verifier, int feedIntervalMs)
{
    m_node = node;
    m_feed->attach(node, verifier, feedIntervalMs);
}

void MetricsModule::start()
{
    QTcpServer *tcp = nullptr;
    if (m_tls) {
        auto *ssl = new QSslServer(this);
        ssl->setSslConfiguration(*m_tls);
        tcp = ssl;
    } else {
        tcp = new QTcpServer(this);
    }
    if (!tcp->listen(m_host, m_requestedPort)) {
        const QString reason = QStringLiteral("cannot listen for metrics on %1:%2: %3")
                                   .arg(m_host.toString())
                                   .arg(m_requestedPort)
                                   .arg(tcp->errorString());
        delete tcp;
        Q_EMIT failed(reason);
        return;
    }
    m_http = new QHttpServer(this);
    registerRoutes();
    connect(m_http, &QHttpServer::newWebSocketConnection, this, &MetricsModule::acceptWebSockets);
    m_http->bind(tcp);
    Q_EMIT listening(tcp->serverPort());
}

void MetricsModule::stop()
{
    m_feed->closeAll();
    if (!m_http)
        return;
    m_http->disconnect(this);
    const auto listeners = m_http->servers();
    for (QTcpServer *listener : listeners)
        listener->close();
    m_http->deleteLater();
    m_http = nullptr;
}

void MetricsModule::registerRoutes()
{
    m_http->route("/metrics",
        [this] { return QHttpServerResponse(kPrometheusType, PrometheusText::render(*m_node)); });
    // Qt 6.4 upgrades a WebSocket only when a route takes the request; this one answers nothing
    // to an upgrade so that the socket goes to acceptWebSockets() untouched.
    m_http->route("/feed", [](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
        if (request.value("upgrade").compare("websocket", Qt::CaseInsensitive) == 0)
            return;
        responder.write(QByteArrayLiteral("the monitor feed is a WebSocket\n"), kTextPlain,
            QHttpServerResponder::StatusCode::UpgradeRequired);
    });
    m_http->route("/health", [] { return QHttpServerResponse(kTextPlain, "ok\n"); });
    m_http->route("/ready", [this] {
        using Status = QHttpServerResponse::StatusCode;
        if (m_node->isReady())
            return QHttpServerResponse(kTextPlain, "ready\n", Status::Ok);
        const QString state = QString::fromLatin1(
            QMetaEnum::fromType<status::NodeStatus::State>().valueToKey(int(m_node->state())))
                                  .toLower();
        return QHttpServerResponse(kTextPlain, state.toUtf8() + '\n', Status::ServiceUnavailable);
    });
}

void MetricsModule::acceptWebSockets()
{
    while (m_http && m_http->hasPendingWebSocketConnections()) {
        QWebSocket *socket = m_http->nextPendingWebSocketConnection().release();
        socket->setParent(m_feed);
        if (socket->requestUrl().path() != u"/feed") {
            socket->close(kNotFound, QStringLiteral("Not Found: the monitor feed is on /feed"));
            connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
            continue;
        }
        m_feed->addSubscriber(socket);
    }
}

} // namespace wingman::metrics

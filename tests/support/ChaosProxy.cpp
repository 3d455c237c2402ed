#include "ChaosProxy.h"

#include <QDateTime>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

namespace wingman::test {

struct ChaosProxy::Link {
    QWebSocket *client = nullptr;
    QWebSocket *server = nullptr;
    QList<QPair<bool, QByteArray>> pendingToServer; // sent before the upstream socket opened
    qint64 lastDeliveryToServer = 0;
    qint64 lastDeliveryToClient = 0;
    bool closing = false;
};

ChaosProxy::ChaosProxy(QUrl upstream, QObject *parent)
    : QObject(parent)
    , m_upstream(std::move(upstream))
    , m_server(new QWebSocketServer(
          QStringLiteral("chaos-proxy"), QWebSocketServer::NonSecureMode, this))
    , m_random(1)
{
    connect(m_server, &QWebSocketServer::newConnection, this, &ChaosProxy::acceptPending);
}

ChaosProxy::~ChaosProxy()
{
    disconnectAll();
}

bool ChaosProxy::start()
{
    return m_server->listen(QHostAddress::LocalHost, 0);
}

quint16 ChaosProxy::port() const
{
    return m_server->serverPort();
}

QUrl ChaosProxy::url() const
{
    return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port()));
}

void ChaosProxy::setLatency(int latencyMs, int jitterMs)
{
    m_latencyMs = latencyMs;
    m_jitterMs = jitterMs;
}

void ChaosProxy::setDropRate(double rate)
{
    m_dropRate = rate;
}

void ChaosProxy::setSilent(bool silent)
{
    m_silent = silent;
}

void ChaosProxy::setSeed(quint32 seed)
{
    m_random.seed(seed);
}

void ChaosProxy::disconnectAll()
{
    const auto links = m_links;
    for (Link *link : links)
        closeLink(link);
}

void ChaosProxy::acceptPending()
{
    while (QWebSocket *client = m_server->nextPendingConnection()) {
        auto *link = new Link;
        link->client = client;
        link->server = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        client->setParent(this);
        m_links.append(link);

        connect(client, &QWebSocket::binaryMessageReceived, this,
            [this, link](const QByteArray &data) { forward(link, true, data, true); });
        connect(client, &QWebSocket::textMessageReceived, this,
            [this, link](const QString &text) { forward(link, true, text.toUtf8(), false); });
        connect(link->server, &QWebSocket::binaryMessageReceived, this,
            [this, link](const QByteArray &data) { forward(link, false, data, true); });
        connect(link->server, &QWebSocket::textMessageReceived, this,
            [this, link](const QString &text) { forward(link, false, text.toUtf8(), false); });
        connect(link->server, &QWebSocket::connected, this, [link] {
            for (const auto &[binary, data] : std::exchange(link->pendingToServer, {})) {
                if (binary)
                    link->server->sendBinaryMessage(data);
                else
                    link->server->sendTextMessage(QString::fromUtf8(data));
            }
        });
        connect(client, &QWebSocket::disconnected, this, [this, link] { closeLink(link); });
        connect(link->server, &QWebSocket::disconnected, this, [this, link] { closeLink(link); });
        link->server->open(m_upstream);
        Q_EMIT linkOpened();
    }
}

void ChaosProxy::forward(Link *link, bool toServer, const QByteArray &data, bool binary)
{
    if (link->closing)
        return;
    if (m_silent || (m_dropRate > 0 && m_random.generateDouble() < m_dropRate)) {
        ++m_dropped;
        return;
    }
    ++m_forwarded;
    const auto deliver = [this, link, toServer, data, binary] {
        if (!m_links.contains(link) || link->closing)
            return;
        QWebSocket *target = toServer ? link->server : link->client;
        if (toServer && target->state() != QAbstractSocket::ConnectedState) {
            link->pendingToServer.append({ binary, data });
            return;
        }
        if (binary)
            target->sendBinaryMessage(data);
        else
            target->sendTextMessage(QString::fromUtf8(data));
    };
    if (m_latencyMs == 0 && m_jitterMs == 0) {
        deliver();
        return;
    }
    // Deliveries in one direction never overtake each other, as on one TCP stream.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const int jitter = m_jitterMs > 0 ? int(m_random.bounded(2 * m_jitterMs + 1)) - m_jitterMs : 0;
    qint64 &last = toServer ? link->lastDeliveryToServer : link->lastDeliveryToClient;
    const qint64 at = std::max(now + std::max(0, m_latencyMs + jitter), last);
    last = at;
    QTimer::singleShot(int(at - now), this, deliver);
}

void ChaosProxy::closeLink(Link *link)
{
    if (!m_links.contains(link) || link->closing)
        return;
    link->closing = true;
    m_links.removeOne(link);
    link->client->abort();
    link->server->abort();
    link->client->deleteLater();
    link->server->deleteLater();
    delete link;
    Q_EMIT linkClosed();
}

} // namespace wingman::test

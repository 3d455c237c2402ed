#include "network/ClientRegistry.h"

#include "events/NotableEvent.h"
#include "network/NetworkModule.h"

#include <QTimer>
#include <QWebSocket>

#include <algorithm>

namespace wingman::network {

namespace {

// A rejected client that does not answer the close handshake in time is cut off.
constexpr int kCloseHandshakeTimeoutMs = 3000;

ConnectionInfo infoOf(const ClientConnection &c)
{
    return { c.id(), c.remoteAddress(), c.authState(), c.principal(), c.connectedAt(),
        c.messagesIn(), c.messagesOut(), c.bytesIn(), c.bytesOut(), c.queuedBytes() };
}

} // namespace

ClientRegistry::ClientRegistry(MessageRouter &router, OutboundLimits limits, QObject *parent)
    : QObject(parent)
    , m_router(router)
    , m_limits(limits)
{ }

void ClientRegistry::accept(QWebSocket *socket)
{
    const quint64 id = m_nextId++;
    auto *connection = new ClientConnection(socket, id, m_router, m_limits, this);
    m_connections.insert(id, connection);
    ++m_counts.connectionsAccepted;
    connect(
        connection, &ClientConnection::slowConsumer, this, [this, connection](qint64 queuedBytes) {
            ++m_counts.slowConsumerDrops;
            Q_EMIT notableEvent(events::notableEventName(events::NotableEvent::SlowConsumer),
                QStringLiteral("client %1 (%2) closed with %3 bytes queued")
                    .arg(connection->id())
                    .arg(connection->remoteAddress())
                    .arg(queuedBytes));
        });
    connect(connection, &ClientConnection::authStateChanged, this,
        [this, id, connection](AuthState state) {
            if (state == AuthState::Failed) {
                ++m_counts.authFailures;
                Q_EMIT notableEvent(events::notableEventName(events::NotableEvent::AuthFailure),
                    QStringLiteral("client %1 (%2) failed to authenticate")
                        .arg(id)
                        .arg(connection->remoteAddress()));
            }
            Q_EMIT connectionAuthStateChanged(id, state);
        });
    connect(connection, &ClientConnection::disconnected, this,
        [this, connection] { onClosed(connection); });
    Q_EMIT connectionOpened(id);
    if (m_admission) {
        if (const QString refusal = m_admission(*connection); !refusal.isEmpty()) {
            qCInfo(lcNetwork).noquote() << QStringLiteral("connection %1 (%2) rejected: %3")
                                               .arg(id)
                                               .arg(connection->remoteAddress(), refusal);
            connection->close(
                protocol::CloseCode::ConnectionRejected, QStringLiteral("Connection Rejected"));
            QTimer::singleShot(
                kCloseHandshakeTimeoutMs, connection, [connection] { connection->abort(); });
            return;
        }
    }
    connection->start();
}

void ClientRegistry::onClosed(ClientConnection *connection)
{
    const quint64 id = connection->id();
    m_connections.remove(id);
    m_counts.bytesIn += connection->bytesIn();
    m_counts.bytesOut += connection->bytesOut();
    m_counts.messagesIn += connection->messagesIn();
    m_counts.messagesOut += connection->messagesOut();
    if (m_departure)
        m_departure(*connection);
    connection->deleteLater();
    Q_EMIT connectionClosed(id);
}

QList<ConnectionInfo> ClientRegistry::connections() const
{
    QList<ConnectionInfo> result;
    result.reserve(m_connections.size());
    for (const ClientConnection *c : m_connections)
        result.append(infoOf(*c));
    std::sort(result.begin(), result.end(),
        [](const ConnectionInfo &a, const ConnectionInfo &b) { return a.id < b.id; });
    return result;
}

std::optional<ConnectionInfo> ClientRegistry::connection(quint64 id) const
{
    const ClientConnection *c = m_connections.value(id);
    if (!c)
        return std::nullopt;
    return infoOf(*c);
}

status::NodeCounters ClientRegistry::counts(bool withOpenConnections) const
{
    status::NodeCounters counts = m_counts;
    if (!withOpenConnections)
        return counts;
    for (const ClientConnection *c : m_connections) {
        counts.bytesIn += c->bytesIn();
        counts.bytesOut += c->bytesOut();
        counts.messagesIn += c->messagesIn();
        counts.messagesOut += c->messagesOut();
    }
    return counts;
}

void ClientRegistry::broadcast(const QByteArray &encoded)
{
    for (ClientConnection *connection : std::as_const(m_connections)) {
        if (connection->isAuthenticated())
            connection->sendEncoded(encoded);
    }
}

void ClientRegistry::closeAll(
    const QByteArray &urgentMessage, protocol::CloseCode code, const QString &reason)
{
    const auto connections = m_connections.values();
    for (ClientConnection *connection : connections) {
        connection->sendUrgentEncoded(urgentMessage);
        connection->close(code, reason);
    }
}

void ClientRegistry::abortAll()
{
    const auto connections = m_connections.values();
    for (ClientConnection *connection : connections)
        connection->abort();
}

} // namespace wingman::network

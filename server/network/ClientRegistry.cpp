#include "network/ClientRegistry.h"

#include "events/NotableEvent.h"
#include "network/NetworkModule.h"

#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <climits>

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

ClientRegistry::ClientRegistry(
    MessageRouter &router, OutboundLimits limits, AdmissionLimits admissionLimits, QObject *parent)
    : QObject(parent)
    , m_router(router)
    , m_limits(limits)
    , m_admissionLimits(admissionLimits)
{
    m_clock.start();
}

void ClientRegistry::accept(QWebSocket *socket)
{
    if (const QString why = refusalOf(*socket); !why.isEmpty()) {
        refuse(socket, why);
        return;
    }
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
    watchAuthTimeout(connection);
    connection->start();
}

QString ClientRegistry::refusalOf(const QWebSocket &socket)
{
    if (overIpRate(socket.peerAddress())) {
        ++m_counts.refusedIpRate;
        return QStringLiteral("over %1 connections per second from one address")
            .arg(m_admissionLimits.maxConnectionsPerIpPerSecond);
    }
    if (m_connections.size() >= m_admissionLimits.maxConnections) {
        ++m_counts.refusedMaxConnections;
        return QStringLiteral("at the limit of %1 connections")
            .arg(m_admissionLimits.maxConnections);
    }
    if (pendingAuthCount() >= m_admissionLimits.maxPendingAuth) {
        ++m_counts.refusedMaxPendingAuth;
        return QStringLiteral("at the limit of %1 unauthenticated connections")
            .arg(m_admissionLimits.maxPendingAuth);
    }
    return {};
}

bool ClientRegistry::overIpRate(const QHostAddress &address)
{
    const qint64 limit = m_admissionLimits.maxConnectionsPerIpPerSecond;
    if (limit <= 0)
        return false;
    const qint64 now = m_clock.elapsed();
    const auto expired = [now](const QList<qint64> &times) {
        return times.isEmpty() || now - times.constLast() >= 1000;
    };
    // Addresses that went quiet are forgotten, so the table stays as small as the last second.
    if (now - m_lastPruneMs >= 1000) {
        m_lastPruneMs = now;
        m_recentAccepts.removeIf([&](const auto &entry) { return expired(entry.value()); });
    }
    QList<qint64> &times = m_recentAccepts[address];
    while (!times.isEmpty() && now - times.constFirst() >= 1000)
        times.removeFirst();
    if (times.size() >= limit)
        return true;
    times.append(now);
    return false;
}

qsizetype ClientRegistry::pendingAuthCount() const
{
    return std::count_if(m_connections.cbegin(), m_connections.cend(),
        [](const ClientConnection *c) { return c->authState() == AuthState::Pending; });
}

void ClientRegistry::refuse(QWebSocket *socket, const QString &why)
{
    // At most one line a second: a flood must not turn into a flood of log lines.
    const qint64 now = m_clock.elapsed();
    if (now - m_lastRefusalLogMs >= 1000) {
        qCWarning(lcNetwork).noquote()
            << QStringLiteral("connection from %1:%2 refused: %3%4")
                   .arg(socket->peerAddress().toString())
                   .arg(socket->peerPort())
                   .arg(why,
                       m_refusalsUnlogged > 0
                           ? QStringLiteral(" (and %1 more refused since the last report)")
                                 .arg(m_refusalsUnlogged)
                           : QString());
        m_lastRefusalLogMs = now;
        m_refusalsUnlogged = 0;
    } else {
        ++m_refusalsUnlogged;
    }
    socket->setParent(this);
    connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
    socket->close(protocol::toWebSocket(protocol::CloseCode::TryAgainLater),
        QStringLiteral("Try Again Later"));
    QTimer::singleShot(kCloseHandshakeTimeoutMs, socket, [socket] { socket->abort(); });
}

void ClientRegistry::watchAuthTimeout(ClientConnection *connection)
{
    const auto timeout = int(std::clamp<qint64>(m_admissionLimits.authTimeoutMs, 1, INT_MAX));
    // The connection is the timer's context: a session that closes first takes the timer along.
    QTimer::singleShot(timeout, connection, [this, connection] {
        if (connection->authState() == AuthState::Authenticated || !connection->isOpen())
            return;
        ++m_counts.authTimeouts;
        qCInfo(lcNetwork).noquote()
            << QStringLiteral("client %1 (%2) did not authenticate within %3 ms; closing")
                   .arg(connection->id())
                   .arg(connection->remoteAddress())
                   .arg(m_admissionLimits.authTimeoutMs);
        connection->close(protocol::CloseCode::Unauthorized, QStringLiteral("Auth timeout"));
        QTimer::singleShot(
            kCloseHandshakeTimeoutMs, connection, [connection] { connection->abort(); });
    });
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

void ClientRegistry::stopReading(const QByteArray &notice)
{
    const auto connections = m_connections.values();
    for (ClientConnection *connection : connections)
        connection->stopReading(notice);
}

void ClientRegistry::closeAll(protocol::CloseCode code, const QString &reason)
{
    const auto connections = m_connections.values();
    for (ClientConnection *connection : connections)
        connection->close(code, reason);
}

void ClientRegistry::abortAll()
{
    const auto connections = m_connections.values();
    for (ClientConnection *connection : connections)
        connection->abort();
}

} // namespace wingman::network

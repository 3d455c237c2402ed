#pragma once

#include "network/ClientConnection.h"
#include "status/ConnectionInfo.h"
#include "status/NodeCounters.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QObject>

#include <functional>
#include <optional>

namespace wingman::network {

class MessageRouter;

using status::ConnectionInfo;

// What one node lets in. A socket over a limit is closed with 1013 "Try Again Later" before its
// session starts; a session that has not authenticated within authTimeoutMs is closed with 4001
// "Auth timeout", so idle sockets cannot pile up.
struct AdmissionLimits {
    qint64 authTimeoutMs = 10000;
    qint64 maxConnections = 10000;
    qint64 maxPendingAuth = 1000;
    qint64 maxConnectionsPerIpPerSecond = 50; // 0: no limit
};

// The node's open client connections: accepts sockets (giving each an id), runs the
// connection-level hooks, counts their traffic, and reaches all of them at once (broadcast,
// shutdown notice, abort).
class ClientRegistry : public QObject
{
    Q_OBJECT
public:
    // Before AUTH_REQUIRED: an empty answer admits the session, else it is the logged reason
    // for closing it with 4000.
    using Admission = std::function<QString(const Session &)>;
    // After a session closed, before it is deleted: drop whatever refers to it.
    using Departure = std::function<void(Session &)>;

    ClientRegistry(MessageRouter &router, OutboundLimits limits,
        AdmissionLimits admissionLimits = {}, QObject *parent = nullptr);

    void setAdmission(Admission admission) { m_admission = std::move(admission); }
    void setDeparture(Departure departure) { m_departure = std::move(departure); }

    // Takes ownership of socket and starts its session.
    void accept(QWebSocket *socket);
    bool isEmpty() const { return m_connections.isEmpty(); }
    qsizetype size() const { return m_connections.size(); }

    QList<ConnectionInfo> connections() const;
    std::optional<ConnectionInfo> connection(quint64 id) const;
    // Connections accepted, auth failures, slow consumers, and the traffic of closed connections
    // (with withOpenConnections, of open ones too); the other counters are left zero.
    status::NodeCounters counts(bool withOpenConnections) const;

    // To every authenticated session.
    void broadcast(const QByteArray &encoded);
    // Each session gets notice at once and reads no further message (a node shutting down).
    void stopReading(const QByteArray &notice);
    // Each session sends what it has queued, then closes with code.
    void closeAll(protocol::CloseCode code, const QString &reason);
    void abortAll();

Q_SIGNALS:
    void connectionOpened(quint64 id);
    void connectionClosed(quint64 id);
    void connectionAuthStateChanged(quint64 id, wingman::auth::AuthState state);
    void notableEvent(const QString &kind, const QString &detail);

private:
    void onClosed(ClientConnection *connection);
    // Why socket must be refused under the admission limits, or empty; counts the refusal.
    QString refusalOf(const QWebSocket &socket);
    bool overIpRate(const QHostAddress &address);
    qsizetype pendingAuthCount() const;
    void refuse(QWebSocket *socket, const QString &why);
    void watchAuthTimeout(ClientConnection *connection);

    MessageRouter &m_router;
    OutboundLimits m_limits;
    AdmissionLimits m_admissionLimits;
    // Per address, when its connections of the last second arrived (a sliding window, so a
    // burst cannot straddle two windows); at most maxConnectionsPerIpPerSecond entries each.
    QHash<QHostAddress, QList<qint64>> m_recentAccepts;
    QElapsedTimer m_clock;
    qint64 m_lastPruneMs = 0;
    qint64 m_lastRefusalLogMs = -1000; // so the first refusal is logged at once
    qint64 m_refusalsUnlogged = 0;
    status::NodeCounters m_counts;
    Admission m_admission;
    Departure m_departure;
    quint64 m_nextId = 1;
    QHash<quint64, ClientConnection *> m_connections;
};

} // namespace wingman::network

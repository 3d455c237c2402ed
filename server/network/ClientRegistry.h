#pragma once

#include "network/ClientConnection.h"
#include "status/ConnectionInfo.h"
#include "status/NodeCounters.h"

#include <QHash>
#include <QList>
#include <QObject>

#include <functional>
#include <optional>

namespace wingman::network {

class MessageRouter;

using status::ConnectionInfo;

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

    ClientRegistry(MessageRouter &router, OutboundLimits limits, QObject *parent = nullptr);

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
    // Each session gets message first, then a close with code.
    void closeAll(const QByteArray &urgentMessage, protocol::CloseCode code, const QString &reason);
    void abortAll();

Q_SIGNALS:
    void connectionOpened(quint64 id);
    void connectionClosed(quint64 id);
    void connectionAuthStateChanged(quint64 id, wingman::auth::AuthState state);
    void notableEvent(const QString &kind, const QString &detail);

private:
    void onClosed(ClientConnection *connection);

    MessageRouter &m_router;
    OutboundLimits m_limits;
    status::NodeCounters m_counts;
    Admission m_admission;
    Departure m_departure;
    quint64 m_nextId = 1;
    QHash<quint64, ClientConnection *> m_connections;
};

} // namespace wingman::network

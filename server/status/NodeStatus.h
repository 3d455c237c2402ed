#pragma once

#include "cluster/Member.h"
#include "status/ConnectionInfo.h"
#include "status/NodeCounters.h"

#include <QList>
#include <QMap>
#include <QObject>

#include <optional>

namespace wingman {

using status::ConnectionInfo;

namespace status {

// What the metrics show of this node's part in the cluster (docs/cluster.md §10).
struct ClusterStatus {
    QString state; // this node's membership state ("joining", "up", "leaving", ...)
    QString coordinator; // who published the adopted table
    qint64 tableVersion = 0;
    int partitionsOwned = 0;
    int partitionsBackup = 0;
    quint64 suspicions = 0;
    QMap<QString, quint64> handshakeFailures; // by reason
};

// What a node shows to those who watch it (the metrics endpoint, the monitor feed): its state,
// ports, connections, members and counters, and the signals that say when they change. The
// coordinator is the one implementation; readers depend on this and nothing else of it.
class NodeStatus : public QObject
{
    Q_OBJECT
public:
    enum class State { Created, Starting, Ready, Failed, Stopping, Stopped };
    Q_ENUM(State)

    using QObject::QObject;

    virtual State state() const = 0;
    bool isReady() const { return state() == State::Ready; }
    virtual QString nodeId() const = 0;
    virtual QString host() const = 0;
    // The ports the listeners reported; 0 until ready() (metrics: also without a listener).
    virtual quint16 port() const = 0;
    virtual quint16 clusterPort() const = 0;
    virtual quint16 metricsPort() const = 0;
    virtual qint64 uptimeMs() const = 0;
    virtual QList<ConnectionInfo> connections() const = 0;
    virtual std::optional<ConnectionInfo> connection(quint64 id) const = 0;
    // Other nodes this one knows of, with their link state.
    virtual QList<cluster::Member> members() const = 0;
    // Every counter, the traffic of open connections included.
    virtual NodeCounters counterTotals() const = 0;
    // Messages routed to a handler so far, by message type.
    virtual QMap<QString, quint64> messagesByType() const = 0;
    // The partition table and failure-detection totals; empty for a node without a cluster.
    virtual ClusterStatus clusterStatus() const { return {}; }

Q_SIGNALS:
    void ready();
    void startupFailed(const QString &reason);
    // shutdown() has begun: clients are being told, nothing new is accepted.
    void stopping();
    void stopped();
    void connectionOpened(quint64 id);
    void connectionClosed(quint64 id);
    void connectionAuthStateChanged(quint64 id, wingman::auth::AuthState state);
    // Something an operator should see in the events log: kind is events::notableEventName of
    // an events::NotableEvent; detail is one line.
    void notableEvent(const QString &kind, const QString &detail);
    // A cluster member came up or went down; members() has the new picture.
    void membershipChanged();
};

} // namespace status
} // namespace wingman

#pragma once

#include "cluster/PartitionTable.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QStringList>

namespace wingman::cluster {

// What the cluster's data path (replication, acks, anti-entropy, GC, locks, topics) sees of the
// cluster: authenticated links to members by node id, who should get changes, and the partition
// table. ClusterModule implements it over PeerLinks; tests may implement it in process.
//
// A frame body is one MessagePack map whose first entry is its string `type` (docs/cluster.md
// §1); the bus adds and strips the length prefix. Frames to one node arrive in the order sent
// while its link stays up; nothing is re-sent after a link drops (the data path keeps its own
// queue).
class PeerBus : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    virtual QString localNodeId() const = 0;
    // Every member other than this node that should be sent changes: joining, up, suspect,
    // leaving and down members (a down member's changes wait as hints until it returns or is
    // forgotten; docs/cluster.md §2), whether or not a link to it is up now. Left and forgotten
    // members are not listed.
    virtual QStringList replicaPeers() const = 0;
    // This node is meant to be part of a cluster: peers are configured or another member has been
    // seen. A node that is not acknowledges as a single node does.
    virtual bool isClustered() const = 0;
    // An authenticated link to nodeId is up, and the member is not down.
    virtual bool isReachable(const QString &nodeId) const = 0;
    // Queues one frame body on the link to nodeId; false (and nothing sent) when no link is up.
    virtual bool send(const QString &nodeId, const QByteArray &body) = 0;
    // The table this node has adopted; empty until one is known.
    virtual const PartitionTable &table() const = 0;

Q_SIGNALS:
    // A frame of a type the bus itself does not handle (membership and handshake frames stay
    // inside the bus). `type` is the frame's type field; `body` the whole frame.
    void frameReceived(const QString &nodeId, const QString &type, const QByteArray &body);
    void linkUp(const QString &nodeId);
    void linkDown(const QString &nodeId);
    // replicaPeers() or a member's state changed.
    void membersChanged();
    // A member was declared down or left (the PeerDown notable event): its clients are gone.
    void memberDown(const QString &nodeId, const QString &reason);
    // A table with a new version was adopted.
    void tableChanged(const wingman::cluster::PartitionTable &table);
};

} // namespace wingman::cluster

#pragma once

#include "cluster/AckTracker.h"
#include "cluster/Replicator.h"
#include "ops/ChangeApplier.h"
#include "ops/Committer.h"

#include <QObject>
#include <QTimer>

namespace wingman::maps {
class MapRegistry;
}
namespace wingman::ops {
class OpRouter;
}

namespace wingman::cluster {

class PeerBus;

// A node's data path in a cluster (docs/cluster.md §4): hooks the Committer so every local
// change is replicated at the start of its commit and a client write's ack waits for its ack
// set; applies what peers replicate through the ChangeApplier; routes keys by the bus's table.
// Without replica peers a commit costs one call that returns at once.
class WriteReplication : public QObject
{
    Q_OBJECT
public:
    struct Options {
        qint64 writeAckTimeoutMs = 5000;
        Replicator::Options replicator;
        AckTracker::Clock clock; // empty: the system clock
    };

    WriteReplication(PeerBus &bus, maps::MapRegistry &maps, ops::Committer &committer,
        ops::OpRouter &router, Options options, QObject *parent = nullptr);
    ~WriteReplication() override;

    Replicator &replicator() { return m_replicator; }
    const Replicator &replicator() const { return m_replicator; }
    // Something waits on a reachable peer: an unacked REPLICATE batch or an open ack set. A
    // leaving node drains this before it says BYE.
    bool hasPendingForPeers() const;
    const AckTracker &tracker() const { return m_tracker; }
    const ops::ChangeApplier &applier() const { return m_applier; }
    ops::ChangeApplier &applier() { return m_applier; }

private:
    void onCommit(const ops::ChangeSet &changes, ops::Committer::Steps &steps);
    void armTimer();
    // The table the ack sets are chosen from: the adopted one, else one over every member so
    // that acks still need a second copy before a table is known.
    const PartitionTable &table();

    PeerBus &m_bus;
    ops::Committer &m_committer;
    ops::ChangeApplier m_applier;
    Replicator m_replicator;
    AckTracker m_tracker;
    QTimer m_timer;
    PartitionTable m_fallbackTable;
    bool m_fallbackStale = true;
};

} // namespace wingman::cluster

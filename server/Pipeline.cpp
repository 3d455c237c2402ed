#include "Pipeline.h"

namespace wingman {

status::NodeCounters Pipeline::counters(bool withOpenConnections) const
{
    status::NodeCounters c = clients.counts(withOpenConnections);
    const sync::GcService::Totals &gcTotals = gc.totals();
    c.opsApplied = operations.appliedOps();
    c.opsRejected = operations.rejectedOps();
    c.opsDropped = operations.droppedOps();
    c.acksSent = operations.acksSent();
    c.gcRuns = gcTotals.runs;
    c.tombstonesPruned = gcTotals.pruned;
    c.ttlExpired = gcTotals.expired;
    if (replication) {
        const auto peers = replication->replicator().counters();
        for (auto it = peers.cbegin(); it != peers.cend(); ++it) {
            const cluster::Replicator::PeerCounters &peer = it.value();
            c.replicateChangesSent += peer.changesSent;
            c.replicateChangesReceived += peer.changesReceived;
            c.replicationQueueBytes += quint64(peer.queueBytes);
            c.hintsReplayed += peer.hintsReplayed;
            c.hintQueuesDropped += peer.queuesDropped;
            c.replicationByPeer.insert(it.key(),
                { peer.changesSent, peer.changesReceived, quint64(peer.queueBytes),
                    peer.hintsReplayed, peer.queuesDropped });
        }
        const cluster::AckTracker &tracker = replication->tracker();
        c.acksDegraded = tracker.acksDegraded();
        c.ackWaitMs = quint64(tracker.waitedMs());
        quint64 cumulative = 0;
        const auto &histogram = tracker.waitHistogram();
        for (size_t i = 0; i < histogram.size(); ++i) {
            cumulative += histogram[i];
            const double bound = i < cluster::AckTracker::kWaitBoundsMs.size()
                ? double(cluster::AckTracker::kWaitBoundsMs[i]) / 1000.0
                : std::numeric_limits<double>::infinity();
            c.ackWaitHistogram.append({ bound, cumulative });
        }
        c.kindConflicts = replication->applier().kindConflicts();
    }
    if (antiEntropy) {
        const auto peers = antiEntropy->counters();
        for (auto it = peers.cbegin(); it != peers.cend(); ++it) {
            c.antiEntropyByPeer.insert(it.key(),
                { it.value().rounds, it.value().keysRepaired,
                    qMax(0.0, it.value().lastDurationMs) / 1000.0 });
        }
    }
    return c;
}

} // namespace wingman

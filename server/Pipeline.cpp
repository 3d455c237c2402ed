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
        for (const cluster::Replicator::PeerCounters &peer : peers) {
            c.replicateChangesSent += peer.changesSent;
            c.replicateChangesReceived += peer.changesReceived;
            c.replicationQueueBytes += quint64(peer.queueBytes);
            c.hintsReplayed += peer.hintsReplayed;
            c.hintQueuesDropped += peer.queuesDropped;
        }
        c.acksDegraded = replication->tracker().acksDegraded();
        c.ackWaitMs = quint64(replication->tracker().waitedMs());
        c.kindConflicts = replication->applier().kindConflicts();
    }
    return c;
}

} // namespace wingman

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
    return c;
}

} // namespace wingman

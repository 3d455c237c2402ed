#pragma once

#include <QList>
#include <QMap>
#include <QPair>
#include <QString>
#include <QtGlobal>

#include <limits>

namespace wingman::status {

// Monotonic counters of one node. Modules bump plain fields on the event-loop thread (no signal
// per op on the hot path); the metrics endpoint and the monitor feed read them.
struct NodeCounters {
    quint64 connectionsAccepted = 0;
    quint64 authFailures = 0;
    quint64 authTimeouts = 0; // closed with 4001 "Auth timeout"
    // Connections refused with 1013 before their session started, by the limit they hit.
    quint64 refusedMaxConnections = 0;
    quint64 refusedMaxPendingAuth = 0;
    quint64 refusedIpRate = 0;
    quint64 opsApplied = 0;
    quint64 opsRejected = 0;
    quint64 opsDropped = 0; // dropped by an interceptor
    quint64 acksSent = 0;
    quint64 eventsSent = 0;
    quint64 bytesIn = 0; // of connections already closed; live ones report their own
    quint64 bytesOut = 0; // idem
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 slowConsumerDrops = 0;
    quint64 gcRuns = 0;
    quint64 tombstonesPruned = 0;
    quint64 ttlExpired = 0;
    // Cluster replication (docs/cluster.md §10), summed over peers; zero without peers.
    quint64 replicateChangesSent = 0;
    quint64 replicateChangesReceived = 0;
    quint64 replicationQueueBytes = 0;
    quint64 hintsReplayed = 0;
    quint64 hintQueuesDropped = 0;
    quint64 acksDegraded = 0;
    quint64 ackWaitMs = 0; // local commit → ack set met, summed over acked batches
    quint64 kindConflicts = 0;
    struct PeerReplication {
        quint64 changesSent = 0;
        quint64 changesReceived = 0;
        quint64 queueBytes = 0;
        quint64 hintsReplayed = 0;
        quint64 queuesDropped = 0;
    };
    QMap<QString, PeerReplication> replicationByPeer;
    // Anti-entropy rounds this node started, and what it repaired, per peer.
    struct PeerAntiEntropy {
        QMap<QString, quint64> rounds; // by result: equal, repaired, failed
        quint64 keysRepaired = 0;
        double lastDurationSeconds = 0;
    };
    QMap<QString, PeerAntiEntropy> antiEntropyByPeer;
    // (upper bound in seconds, acks that waited at most that long), cumulative; +Inf last.
    QList<QPair<double, quint64>> ackWaitHistogram;
};

} // namespace wingman::status

#pragma once

#include "cluster/PartitionTable.h"
#include "protocol/Enums.h"

#include <QHash>
#include <QString>
#include <QStringList>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

namespace wingman::cluster {

// Which nodes' durable commits a client write's OP_ACK waits for, and when that wait is over
// (docs/cluster.md §4). Pure: no timers, no sockets; time comes from an injectable clock and
// expire() is called by whoever owns a timer.
//
// A wait is one client batch: per peer the seq of the REPLICATE that carries its last change
// there. A peer's cumulative REPLICATE_ACK {upTo} covers every change it carried. The wait ends
// once the local commit is durable and every listed peer acked, or, degraded (acked as
// PERSISTED and counted), at its deadline or at once when a slot of the set had no reachable
// member to take it.
class AckTracker
{
public:
    using Clock = std::function<qint64()>; // epoch or monotonic milliseconds, only differences
    using Reachable = std::function<bool(const QString &nodeId)>;
    struct Result {
        bool replicated = false; // the REPLICATED set was met
        bool degraded = false;
    };
    using Done = std::function<void(Result)>;

    explicit AckTracker(Clock clock = {}, qint64 defaultTimeoutMs = 5000);

    // The set for a key in partition: R(p) = table.preference(partition). Default, APPLIED,
    // PERSISTED: the first reachable member of R(p) but local. REPLICATED: owner and every
    // backup but local, an unreachable one replaced by the next reachable member of R(p) not yet
    // chosen. FIRE_AND_FORGET, MEMORY: nobody. *incomplete: some slot stayed empty (alone).
    static QStringList ackSet(const PartitionTable &table, int partition, const QString &local,
        std::optional<protocol::WriteConcern> requested, const Reachable &reachable,
        bool *incomplete);

    // need: per peer, the seq its ack must reach. incomplete: degraded at best. done is called
    // exactly once (unless cancelled), never from inside open().
    quint64 open(QHash<QString, quint64> need, bool incomplete, bool replicatedRequested,
        std::optional<qint64> timeoutMs, Done done);
    void localCommitted(quint64 id);
    void acked(const QString &peer, quint64 upTo);
    // Ends every wait whose deadline has passed as degraded (those still waiting for the local
    // commit end when it comes).
    void expire();
    // Drops the wait without calling done (its local commit failed).
    void cancel(quint64 id);
    std::optional<qint64> nextDeadline() const;
    qint64 now() const { return m_clock(); }

    qsizetype pending() const { return qsizetype(m_waits.size()); }
    quint64 acksDegraded() const { return m_degraded; }
    quint64 acksMet() const { return m_met; }
    // Sum of local commit → set met over every ended wait, for the mean ack wait.
    qint64 waitedMs() const { return m_waitedMs; }
    // Ended waits by local commit → end, per upper bound in ms (the last counts the rest).
    static constexpr std::array<qint64, 12> kWaitBoundsMs { 1, 2, 5, 10, 25, 50, 100, 250, 500,
        1000, 2500, 5000 };
    const std::array<quint64, kWaitBoundsMs.size() + 1> &waitHistogram() const
    {
        return m_histogram;
    }

private:
    struct Wait {
        int remaining = 0;
        bool localDone = false;
        bool degraded = false;
        bool replicated = false;
        qint64 deadline = 0;
        qint64 localAt = 0;
        std::optional<std::multimap<qint64, quint64>::iterator> deadlineEntry;
        Done done;
    };
    void maybeFinish(quint64 id);

    Clock m_clock;
    qint64 m_defaultTimeoutMs;
    quint64 m_nextId = 1;
    std::unordered_map<quint64, Wait> m_waits;
    // Per peer the waits on it in seq order (a peer's seqs only grow).
    QHash<QString, std::deque<std::pair<quint64, quint64>>> m_byPeer; // (seq, wait id)
    std::multimap<qint64, quint64> m_deadlines;
    quint64 m_degraded = 0;
    quint64 m_met = 0;
    qint64 m_waitedMs = 0;
    std::array<quint64, kWaitBoundsMs.size() + 1> m_histogram {};
};

} // namespace wingman::cluster

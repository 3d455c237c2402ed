#pragma once

#include "crdt/Timestamp.h"

#include <QLoggingCategory>
#include <QObject>
#include <QTimer>

#include <functional>
#include <optional>

namespace wingman::maps {
class MapRegistry;
}
namespace wingman::ops {
class Committer;
}

namespace wingman::sync {

Q_DECLARE_LOGGING_CATEGORY(lcGc)

// Garbage collection of one node's maps (docs/server.md "GC and TTL"). A run deletes the
// tombstones older than a horizon from maps, Merkle trees and storage, and turns every record
// past its TTL into a tombstone, which the Committer persists, sends to the map's listeners
// (SERVER_EVENT UPDATED, or OR_REMOVE for an OR map) and feeds to live queries. Time is the maps'
// clock, so tests move it. Every gcInterval the timer runs one with the horizon now - gcAge.
// In a cluster (docs/cluster.md §6) the timer only expires records, and only those whose
// partition this node owns; the members agree on the pruning horizon and call prune().
class GcService : public QObject
{
    Q_OBJECT
public:
    struct Result {
        crdt::Timestamp olderThan; // tombstones below it were pruned
        int pruned = 0; // LWW tombstones and OR tombstone tags deleted
        int expired = 0; // records turned into tombstones by their TTL
    };

    // What the runs so far did, committed ones only.
    struct Totals {
        quint64 runs = 0;
        quint64 pruned = 0;
        quint64 expired = 0;
    };

    // What a cluster changes in the runs; empty functions: a single node.
    struct ClusterRule {
        std::function<bool()> active;
        std::function<bool(const QString &key)> ownsKey;
    };

    GcService(maps::MapRegistry &maps, ops::Committer &committer, qint64 intervalMs, qint64 ageMs,
        QObject *parent = nullptr);

    void setClusterRule(ClusterRule rule) { m_rule = std::move(rule); }

    // Starts or stops the periodic runs.
    void start();
    void stop();
    bool isActive() const { return m_timer.isActive(); }
    const Totals &totals() const { return m_totals; }

    // now - gcAge on the maps' clock: what the periodic run prunes below.
    qint64 horizon() const;
    // One run. The maps change at once; storage, events and collected() follow the commit. A
    // horizon beyond the clock's now is clamped to now: a tombstone is never pruned before it
    // exists on the clock.
    Result collect(qint64 olderThanMillis);
    // The two halves of a run: pruning only, and TTL expiry only (owned keys, in a cluster).
    Result prune(qint64 olderThanMillis);
    Result expire();
    // Forgets every record and tombstone older than olderThanMillis without tombstones, telling
    // nobody and replicating nothing, then calls done(ok) once storage answered; returns how
    // many records and tombstones went.
    int discardOlderThan(qint64 olderThanMillis, std::function<void(bool ok)> done);

Q_SIGNALS:
    // A run's changes are committed and sent.
    void collected(const wingman::sync::GcService::Result &result);
    // A run's changes could not be committed.
    void failed(const QString &reason);

private:
    Result run(std::optional<qint64> pruneBelow, bool expire);
    bool inCluster() const { return m_rule.active && m_rule.active(); }

    maps::MapRegistry &m_maps;
    ops::Committer &m_committer;
    qint64 m_ageMs;
    ClusterRule m_rule;
    Totals m_totals;
    QTimer m_timer;
};

} // namespace wingman::sync

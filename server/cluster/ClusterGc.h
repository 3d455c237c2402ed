#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>

#include <functional>
#include <optional>

class QCborMap;

namespace wingman::maps {
class MapRegistry;
}
namespace wingman::ops {
class ChangeApplier;
}
namespace wingman::storage {
class Storage;
}
namespace wingman::sync {
class GcService;
}

namespace wingman::cluster {

class PeerBus;

// The cluster's tombstone horizon (docs/cluster.md §6). The table's coordinator asks every listed
// member (all but left and forgotten ones) for its report, min(now) on its clock; once every one
// answered, horizon = min(reports) - gcAge is committed to all. A down member that is not yet
// forgotten never answers, so it blocks pruning. Each node prunes below a committed horizon,
// persists it, and drops late tombstones older than it (ChangeApplier). Links that come up swap
// horizons; a node whose last cluster contact is older than a horizon it learns was away past
// the GC age and may hold records whose deletes were pruned: it discards everything older than
// the horizon and catches up from its peers (Cassandra's gc_grace rule).
class ClusterGc : public QObject
{
    Q_OBJECT
public:
    struct Options {
        qint64 intervalMs = 60000;
        qint64 ageMs = 30LL * 24 * 3600 * 1000;
        qint64 reportTimeoutMs = 30000;
        // Called after a discard, so anti-entropy fetches what the node let go.
        std::function<void(const QString &peer)> catchUp;
    };
    struct Counters {
        quint64 roundsStarted = 0;
        quint64 roundsCommitted = 0;
        quint64 discards = 0;
    };

    static constexpr const char *kHorizonMeta = "clusterGcHorizon";
    static constexpr const char *kLastContactMeta = "lastClusterContact";

    ClusterGc(PeerBus &bus, maps::MapRegistry &maps, sync::GcService &gc,
        ops::ChangeApplier &applier, storage::Storage &storage, Options options,
        QObject *parent = nullptr);

    // The persisted horizon and last contact, read once storage is open (at the first use).
    void load();
    qint64 horizon() const { return m_horizon; }
    qint64 lastContact() const { return m_lastContact; }
    const Counters &counters() const { return m_counters; }

    // Records that this node is in touch with the cluster now (after an anti-entropy round).
    void noteContact();
    // The coordinator's periodic step: starts a round unless one is still waiting for reports.
    void tick();

Q_SIGNALS:
    void horizonCommitted(qint64 horizon);
    // This node let go of `count` records and tombstones older than horizon.
    void replicaDiscarded(qint64 horizon, int count);

private:
    struct Round {
        quint64 id = 0;
        QSet<QString> waiting;
        qint64 minMillis = 0;
        int asked = 0;
        QElapsedTimer age;
    };

    void onFrame(const QString &peer, const QString &type, const QByteArray &body);
    void onLinkUp(const QString &peer);
    void onMembersChanged();
    void onReport(const QString &peer, const QCborMap &frame);
    void maybeCommit();
    void adopt(qint64 horizon, const QString &from);
    bool send(const QString &peer, const QCborMap &frame);
    bool isCoordinator() const;
    qint64 now() const;

    PeerBus &m_bus;
    maps::MapRegistry &m_maps;
    sync::GcService &m_gc;
    ops::ChangeApplier &m_applier;
    storage::Storage &m_storage;
    Options m_options;
    bool m_loaded = false;
    qint64 m_horizon = 0;
    qint64 m_lastContact = 0;
    qint64 m_storedContact = 0; // the last value handed to storage
    quint64 m_nextRound = 1;
    std::optional<Round> m_round;
    Counters m_counters;
    QTimer m_timer;
};

} // namespace wingman::cluster

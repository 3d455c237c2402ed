#pragma once

#include "cluster/PartitionDigest.h"

#include <QCborArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QHash>
#include <QMap>
#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>

#include <functional>

namespace wingman::maps {
class MapRegistry;
}
namespace wingman::ops {
class ChangeApplier;
}

namespace wingman::cluster {

class PeerBus;
class Replicator;

// Merkle anti-entropy between pairs of nodes (docs/cluster.md §5). A round is started by the
// lower node id of a pair on every link-up and every intervalMs, by a joining node for its
// catch-up, and by a node that dropped the peer's hint queue; one outgoing round per peer at a
// time. Steps: MERKLE_ROOTS both ways; for differing maps MERKLE_BUCKETS walks partition sums →
// leaf sums (small partitions: their entries) → [key, hash] entries; then RECORDS pushes the
// initiator's state for keys that differ or the responder lacks and wants the rest. Whatever
// arrives goes through the ChangeApplier, so it persists and fans out like any change. The
// responder keeps no state: every request is answered from its maps as they are then.
class AntiEntropy : public QObject
{
    Q_OBJECT
public:
    struct Options {
        int intervalMs = 5000;
        qint64 roundTimeoutMs = 60000;
        qint64 maxChunkBytes = 1024 * 1024;
        int smallPartition = 64; // up to this many keys a partition is sent as entries
        std::function<bool()> isJoining; // empty: never joining
        std::function<void()> endJoining;
    };
    struct PeerCounters {
        QMap<QString, quint64> rounds; // by result: equal, repaired, failed
        quint64 keysRepaired = 0; // changes applied here from this peer's rounds
        double lastDurationMs = -1;
    };

    // The PN counters a round repairs beside the maps (docs/cluster.md §5, §7): MERKLE_ROOTS
    // carries a digest per counter, and COUNTERS frames carry the states of those that differ,
    // merged by per-node maximum on both sides.
    struct PnCounters {
        std::function<QHash<QString, quint32>()> digests; // by counter name
        std::function<QCborMap(const QString &name)> state; // as COUNTER carries it
        std::function<void(const QString &name, const QCborMap &state)> merge;
    };

    AntiEntropy(PeerBus &bus, maps::MapRegistry &maps, ops::ChangeApplier &applier,
        Replicator *replicator, Options options, QObject *parent = nullptr);

    void setPnCounters(PnCounters counters) { m_pnCounters = std::move(counters); }

    // Starts a round with peer now, or right after the one running.
    void startRound(const QString &peer);
    bool isRunning(const QString &peer) const { return m_rounds.contains(peer); }
    QHash<QString, PeerCounters> counters() const { return m_counters; }

Q_SIGNALS:
    // result: "equal" (roots matched), "repaired" (a walk ran) or "failed" (link lost, timeout).
    void roundFinished(const QString &peer, const QString &result, qint64 durationMs);

private:
    struct Walk {
        QString kind;
        PartitionDigest::Entries theirs;
        QSet<int> partitions; // answered with entries: compared whole
        QSet<int> leaves; // leaf ids compared entry by entry
        QHash<int, QList<quint32>> leafSums; // theirs, of partitions answered with sums
    };
    struct Round {
        quint64 id = 0;
        QElapsedTimer clock;
        int awaiting = 0; // replies still to come (each request's ends with last)
        bool walked = false;
        bool again = false;
        bool coversDrop = false;
        QHash<QString, Walk> walks; // by map name
    };

    void onFrame(const QString &peer, const QString &type, const QByteArray &body);
    void onLinkUp(const QString &peer);
    void onLinkDown(const QString &peer);
    void tick();
    void finish(const QString &peer, const QString &result);
    bool send(const QString &peer, const QCborMap &frame);

    // Responder.
    void answerRoots(const QString &peer, const QCborMap &frame);
    void answerBuckets(const QString &peer, const QCborMap &frame);
    void answerRecords(const QString &peer, const QCborMap &frame);
    void answerCounters(const QString &peer, const QCborMap &frame);
    // Initiator.
    void onRoots(const QString &peer, Round &round, const QCborMap &frame);
    void onBuckets(const QString &peer, Round &round, const QCborMap &frame);
    void onRecords(const QString &peer, Round &round, const QCborMap &frame);
    // Sends COUNTERS for the counters whose digests differ; false when none do.
    bool compareCounters(const QString &peer, Round &round, const QCborMap &theirs);
    // Merges a COUNTERS frame's states.
    void mergeCounters(const QCborMap &frame);
    void compare(const QString &peer, Round &round, const QString &mapName, Walk &walk);
    void replied(const QString &peer, Round &round, bool last);

    QCborMap rootsFrame(quint64 round, bool reply) const;
    const crdt::MerkleTree *treeOf(const QString &mapName) const;
    // Applies pushed changes and tombstoned tags; returns the pushed OR tags held here as
    // tombstones, as [key, tag] pairs.
    QCborArray apply(const QString &peer, const QString &mapName, const QCborMap &frame);
    // Sends RECORDS frames for mapName carrying keys' state, chunked, the last one with last.
    // Returns the number of frames sent.
    int sendRecords(const QString &peer, quint64 round, bool reply, const QString &mapName,
        const QStringList &keys, const QStringList &want, const QCborArray &tombstoned);

    PeerBus &m_bus;
    maps::MapRegistry &m_maps;
    ops::ChangeApplier &m_applier;
    Replicator *m_replicator;
    Options m_options;
    PnCounters m_pnCounters;
    QHash<QString, Round> m_rounds; // outgoing, by peer
    QHash<QString, PeerCounters> m_counters;
    QSet<QString> m_dropped; // peers whose hint queue was dropped since their last round
    QSet<QString> m_kindLogged;
    quint64 m_nextRound = 1;
    QTimer m_timer;
};

} // namespace wingman::cluster

#include "LoopbackBus.h"
#include "TestSession.h"

#include "cluster/AntiEntropy.h"
#include "cluster/WriteReplication.h"
#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "ops/Committer.h"
#include "ops/OpRouter.h"
#include "primitives/CounterService.h"
#include "primitives/CounterState.h"

#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace wingman;
using namespace Qt::StringLiterals;
using test::LoopbackCluster;
using test::ScriptedStorage;

namespace {

// One node's data path on a loopback bus, with small chunks and small partitions so that a
// round takes every step: leaf sums, entries of leaves, several RECORDS frames.
struct Node {
    maps::MapRegistry maps;
    live::QueryRegistry queries;
    ScriptedStorage storage;
    ops::Committer committer { storage, queries, maps.hlc() };
    ops::OpRouter router;
    std::unique_ptr<cluster::WriteReplication> replication;
    std::unique_ptr<cluster::AntiEntropy> antiEntropy;
    QHash<QString, primitives::CounterState> counters; // PN counters by name

    Node(LoopbackCluster &cluster, const QString &nodeId)
        : maps(nodeId)
        , router(nodeId)
    {
        cluster::PeerBus &bus = *cluster.add(nodeId);
        replication = std::make_unique<cluster::WriteReplication>(
            bus, maps, committer, router, cluster::WriteReplication::Options {});
        cluster::AntiEntropy::Options options;
        options.intervalMs = 3600 * 1000;
        options.maxChunkBytes = 4096;
        options.smallPartition = 4;
        antiEntropy = std::make_unique<cluster::AntiEntropy>(
            bus, maps, replication->applier(), &replication->replicator(), options);
        antiEntropy->setPnCounters(
            { [this] {
                 QHash<QString, quint32> digests;
                 for (auto it = counters.cbegin(); it != counters.cend(); ++it)
                     digests.insert(it.key(), primitives::CounterService::digestOf(it.value()));
                 return digests;
             },
                [this](const QString &name) { return counters.value(name).toCbor(); },
                [this](const QString &name, const QCborMap &state) {
                    counters[name].merge(*primitives::CounterState::fromCbor(state));
                } });
    }

    crdt::LwwMap &lww() { return *maps.lwwMap(u"todos"_s); }
    crdt::OrMap &orMap() { return *maps.orMap(u"tags"_s); }
};

crdt::LwwRecord record(int value, qint64 millis, const QString &node)
{
    return { QCborValue(value), { millis, 0, node }, std::nullopt };
}

} // namespace

class tst_AntiEntropy : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void walkRepairsBothSides()
    {
        LoopbackCluster cluster;
        Node a(cluster, u"node-a"_s);
        Node b(cluster, u"node-b"_s);
        const qint64 base = QDateTime::currentMSecsSinceEpoch() - 60000;
        for (int i = 0; i < 20000; ++i) {
            const QString key = u"key-%1"_s.arg(i);
            a.lww().merge(key, record(i, base + i, u"w"_s));
            b.lww().merge(key, record(i, base + i, u"w"_s));
        }
        for (int i = 0; i < 100; ++i) {
            a.lww().merge(u"a-only-%1"_s.arg(i), record(i, base, u"a"_s));
            b.lww().merge(u"b-only-%1"_s.arg(i), record(i, base, u"b"_s));
            // Keys 0..49 newer on A, 50..99 newer on B.
            Node &newer = i < 50 ? a : b;
            newer.lww().merge(u"key-%1"_s.arg(i), record(-i, base + 50000, u"n"_s));
        }
        const crdt::Timestamp stamp { base, 1, u"c"_s };
        const crdt::OrRecord tagged { QCborValue(u"x"_s), stamp, stamp.toString(), std::nullopt };
        a.orMap().applyTombstone(tagged.tag);
        b.orMap().apply(u"k"_s, tagged);
        QVERIFY(a.lww().merkleTree().rootHash() != b.lww().merkleTree().rootHash());

        QSignalSpy finished(a.antiEntropy.get(), &cluster::AntiEntropy::roundFinished);
        a.antiEntropy->startRound(u"node-b"_s);
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().at(1).toString(), u"repaired"_s);
        // The quiet tombstone notice may still be on its way.
        QTRY_VERIFY_WITH_TIMEOUT(b.orMap().isTombstoned(tagged.tag), 2000);

        QCOMPARE(a.lww().size(), 20200);
        QCOMPARE(a.lww().merkleTree().rootHash(), b.lww().merkleTree().rootHash());
        QCOMPARE(a.lww().get(u"key-10"_s), std::optional<QCborValue>(QCborValue(-10)));
        QCOMPARE(b.lww().get(u"key-10"_s), std::optional<QCborValue>(QCborValue(-10)));
        QCOMPARE(a.lww().get(u"key-60"_s), std::optional<QCborValue>(QCborValue(-60)));
        QCOMPARE(a.orMap().merkleTree().rootHash(), b.orMap().merkleTree().rootHash());
        QVERIFY(b.orMap().records(u"k"_s).isEmpty());

        // Every step ran: leaf sums, leaf entries, chunked records.
        const auto frames = [&](const QString &from, const QString &type) {
            return cluster.deliveredCount(
                from, from == u"node-a"_s ? u"node-b"_s : u"node-a"_s, type);
        };
        int leafRequests = 0;
        for (const LoopbackCluster::Frame &frame : cluster.delivered()) {
            if (frame.from == u"node-a"_s && frame.type == u"MERKLE_BUCKETS"_s
                && frame.body.contains("level\x02"))
                ++leafRequests;
        }
        QVERIFY(leafRequests >= 1);
        QVERIFY(frames(u"node-a"_s, u"MERKLE_BUCKETS"_s) >= 5); // levels 0 and 1 per map, 2
        QVERIFY(frames(u"node-a"_s, u"RECORDS"_s) > 1);
        QVERIFY(frames(u"node-b"_s, u"RECORDS"_s) > 1);
        QVERIFY(a.antiEntropy->counters().value(u"node-b"_s).keysRepaired >= 150);

        // Now equal: the next round stops after MERKLE_ROOTS.
        const qsizetype buckets = frames(u"node-a"_s, u"MERKLE_BUCKETS"_s);
        a.antiEntropy->startRound(u"node-b"_s);
        QVERIFY(finished.wait(5000));
        QCOMPARE(finished.last().at(1).toString(), u"equal"_s);
        QCOMPARE(frames(u"node-a"_s, u"MERKLE_BUCKETS"_s), buckets);
    }

    // PN counters ride along (docs/cluster.md §5): a counter change that never reached the peer
    // (its COUNTER frame lost, the link up all along) is repaired by the next round, which sends
    // only the counters whose digests differ and merges them by per-node maximum on both sides.
    void countersWithDifferentDigestsAreRepaired()
    {
        LoopbackCluster cluster;
        Node a(cluster, u"node-a"_s);
        Node b(cluster, u"node-b"_s);
        const auto counter = [](std::initializer_list<std::pair<QString, double>> positive,
                                 std::initializer_list<std::pair<QString, double>> negative) {
            primitives::CounterState state;
            for (const auto &[node, count] : positive)
                state.setCount(true, node, count);
            for (const auto &[node, count] : negative)
                state.setCount(false, node, count);
            return state;
        };
        a.counters.insert(u"same"_s, counter({ { u"node-a"_s, 4 } }, {}));
        b.counters.insert(u"same"_s, counter({ { u"node-a"_s, 4 } }, {}));
        a.counters.insert(u"likes"_s, counter({ { u"node-a"_s, 5 }, { u"node-b"_s, 1 } }, {}));
        b.counters.insert(u"likes"_s, counter({ { u"node-b"_s, 3 } }, { { u"node-b"_s, 1 } }));
        a.counters.insert(u"views"_s, counter({ { u"node-a"_s, 2 } }, {}));
        b.counters.insert(u"shares"_s, counter({}, { { u"node-b"_s, 1 } }));

        QSignalSpy finished(a.antiEntropy.get(), &cluster::AntiEntropy::roundFinished);
        a.antiEntropy->startRound(u"node-b"_s);
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().at(1).toString(), u"repaired"_s);
        QCOMPARE(a.counters, b.counters);
        QCOMPARE(b.counters.value(u"likes"_s).value(), 7.0);
        QCOMPARE(a.counters.value(u"views"_s).value(), 2.0);
        QCOMPARE(a.counters.value(u"shares"_s).value(), -1.0);
        QCOMPARE(cluster.deliveredCount(u"node-a"_s, u"node-b"_s, u"COUNTERS"_s), 1);
        QCOMPARE(cluster.deliveredCount(u"node-b"_s, u"node-a"_s, u"COUNTERS"_s), 1);
        // The equal counter did not travel.
        for (const LoopbackCluster::Frame &frame : cluster.delivered()) {
            if (frame.type == u"COUNTERS"_s)
                QVERIFY(!frame.body.contains("same"));
        }

        // Equal now: the next round ends after MERKLE_ROOTS.
        a.antiEntropy->startRound(u"node-b"_s);
        QVERIFY(finished.wait(5000));
        QCOMPARE(finished.last().at(1).toString(), u"equal"_s);
        QCOMPARE(cluster.deliveredCount(u"node-a"_s, u"node-b"_s, u"COUNTERS"_s), 1);
    }

    // The higher id of a pair starts no periodic round, but does after dropping the peer's hint
    // queue; a second start while one runs is queued behind it, not run alongside.
    void droppedHintQueueStartsARound()
    {
        LoopbackCluster cluster;
        Node a(cluster, u"node-a"_s);
        Node b(cluster, u"node-b"_s);
        b.lww().merge(u"k"_s, record(1, 1000, u"b"_s));
        QSignalSpy finished(b.antiEntropy.get(), &cluster::AntiEntropy::roundFinished);
        Q_EMIT b.replication->replicator().hintQueueDropped(u"node-a"_s);
        QVERIFY(b.antiEntropy->isRunning(u"node-a"_s));
        b.antiEntropy->startRound(u"node-a"_s);
        QVERIFY(finished.wait(5000));
        QCOMPARE(finished.first().at(1).toString(), u"repaired"_s);
        QCOMPARE(a.lww().get(u"k"_s), std::optional<QCborValue>(QCborValue(1)));
        // The queued round follows and finds the pair equal.
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 5000);
        QCOMPARE(finished.last().at(1).toString(), u"equal"_s);
        QVERIFY(!b.replication->replicator().isOverflowed(u"node-a"_s));
    }

    void lostLinkFailsTheRound()
    {
        LoopbackCluster cluster;
        Node a(cluster, u"node-a"_s);
        Node b(cluster, u"node-b"_s);
        a.lww().merge(u"k"_s, record(1, 1000, u"a"_s));
        cluster.hold(u"node-b"_s, u"node-a"_s);
        QSignalSpy finished(a.antiEntropy.get(), &cluster::AntiEntropy::roundFinished);
        a.antiEntropy->startRound(u"node-b"_s);
        QVERIFY(a.antiEntropy->isRunning(u"node-b"_s));
        cluster.cut(u"node-a"_s, u"node-b"_s);
        QCOMPARE(finished.size(), 1);
        QCOMPARE(finished.first().at(1).toString(), u"failed"_s);
        QCOMPARE(a.antiEntropy->counters().value(u"node-b"_s).rounds.value(u"failed"_s), 1u);
    }
};

QTEST_GUILESS_MAIN(tst_AntiEntropy)
#include "tst_antientropy.moc"

#include "cluster/AckTracker.h"

#include <QTest>

using namespace wingman;
using namespace Qt::StringLiterals;
using cluster::AckTracker;
using cluster::PartitionTable;
using protocol::WriteConcern;

Q_DECLARE_METATYPE(std::optional<wingman::protocol::WriteConcern>)

namespace {

// A partition whose preference order over {a, b, c} starts at `owner`.
int partitionOwnedBy(const PartitionTable &table, const QString &owner)
{
    for (int p = 0; p < PartitionTable::kPartitionCount; ++p) {
        if (table.owner(p) == owner)
            return p;
    }
    return -1;
}

} // namespace

class TestAckTracker : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void ackSet_data();
    void ackSet();
    void waitsForLocalCommitAndEveryPeer();
    void aloneIsDegradedAtOnceAfterLocalCommit();
    void timeoutDegrades();
    void opTimeoutOverridesDefault();
    void cumulativeAckCoversSeveralWaits();
    void batchAckedOnlyWhenEverySetMet();
    void cancelledWaitNeverEnds();
};

void TestAckTracker::ackSet_data()
{
    QTest::addColumn<QString>("local");
    QTest::addColumn<QString>("owner"); // owner of the key's partition
    QTest::addColumn<std::optional<WriteConcern>>("concern");
    QTest::addColumn<QStringList>("unreachable");
    QTest::addColumn<int>("backupCount");
    QTest::addColumn<QStringList>("expected");
    QTest::addColumn<bool>("incomplete");

    const std::optional<WriteConcern> none;
    QTest::newRow("owner chosen") << u"c"_s << u"a"_s << none << QStringList {} << 1
                                  << QStringList { u"a"_s } << false;
    QTest::newRow("persisted: owner chosen")
        << u"c"_s << u"a"_s << std::optional(WriteConcern::Persisted) << QStringList {} << 1
        << QStringList { u"a"_s } << false;
    QTest::newRow("entry is owner: first backup")
        << u"a"_s << u"a"_s << none << QStringList {} << 1 << QStringList { u"b"_s } << false;
    QTest::newRow("unreachable owner: replacement")
        << u"c"_s << u"a"_s << none << QStringList { u"a"_s } << 1 << QStringList { u"b"_s }
        << false;
    QTest::newRow("alone") << u"a"_s << u"a"_s << none << QStringList { u"b"_s, u"c"_s } << 1
                           << QStringList {} << true;
    QTest::newRow("memory: nobody") << u"c"_s << u"a"_s << std::optional(WriteConcern::Memory)
                                    << QStringList {} << 1 << QStringList {} << false;
    QTest::newRow("fire and forget: nobody")
        << u"c"_s << u"a"_s << std::optional(WriteConcern::FireAndForget) << QStringList {} << 1
        << QStringList {} << false;
    QTest::newRow("replicated: owner and backup")
        << u"c"_s << u"a"_s << std::optional(WriteConcern::Replicated) << QStringList {} << 1
        << QStringList { u"a"_s, u"b"_s } << false;
    QTest::newRow("replicated, entry is owner: every backup")
        << u"a"_s << u"a"_s << std::optional(WriteConcern::Replicated) << QStringList {} << 2
        << QStringList { u"b"_s, u"c"_s } << false;
    QTest::newRow("replicated, entry is backup: owner")
        << u"b"_s << u"a"_s << std::optional(WriteConcern::Replicated) << QStringList {} << 1
        << QStringList { u"a"_s } << false;
    QTest::newRow("replicated, backup unreachable: replaced")
        << u"a"_s << u"a"_s << std::optional(WriteConcern::Replicated) << QStringList { u"b"_s }
        << 1 << QStringList { u"c"_s } << false;
    QTest::newRow("replicated, no replacement left")
        << u"c"_s << u"a"_s << std::optional(WriteConcern::Replicated) << QStringList { u"b"_s }
        << 1 << QStringList { u"a"_s } << true;
    QTest::newRow("replicated, entry owns it with no backups: still a second copy")
        << u"a"_s << u"a"_s << std::optional(WriteConcern::Replicated) << QStringList {} << 0
        << QStringList { u"b"_s } << false;
    QTest::newRow("replicated, alone")
        << u"a"_s << u"a"_s << std::optional(WriteConcern::Replicated)
        << QStringList { u"b"_s, u"c"_s } << 1 << QStringList {} << true;
}

void TestAckTracker::ackSet()
{
    QFETCH(QString, local);
    QFETCH(QString, owner);
    QFETCH(std::optional<WriteConcern>, concern);
    QFETCH(QStringList, unreachable);
    QFETCH(int, backupCount);
    QFETCH(QStringList, expected);
    QFETCH(bool, incomplete);

    const PartitionTable table(1, u"a"_s, { u"c"_s, u"a"_s, u"b"_s }, backupCount, 0);
    const int partition = partitionOwnedBy(table, owner);
    QVERIFY(partition >= 0);
    bool missing = false;
    const QStringList set = AckTracker::ackSet(
        table, partition, local, concern,
        [&](const QString &node) { return !unreachable.contains(node); }, &missing);
    QCOMPARE(set, expected);
    QCOMPARE(missing, incomplete);
}

void TestAckTracker::waitsForLocalCommitAndEveryPeer()
{
    qint64 now = 1000;
    AckTracker tracker([&] { return now; }, 5000);
    std::optional<AckTracker::Result> result;
    const quint64 id = tracker.open({ { u"a"_s, 3 }, { u"b"_s, 1 } }, false, true, std::nullopt,
        [&](AckTracker::Result r) { result = r; });

    tracker.acked(u"a"_s, 3);
    tracker.localCommitted(id);
    QVERIFY(!result);
    tracker.acked(u"b"_s, 0); // an older batch's ack
    QVERIFY(!result);
    now += 7;
    tracker.acked(u"b"_s, 1);
    QVERIFY(result);
    QVERIFY(result->replicated);
    QVERIFY(!result->degraded);
    QCOMPARE(tracker.acksDegraded(), quint64(0));
    QCOMPARE(tracker.acksMet(), quint64(1));
    QCOMPARE(tracker.waitedMs(), qint64(7));
    QCOMPARE(tracker.waitHistogram()[3], quint64(1)); // ≤ 10 ms
    QCOMPARE(tracker.pending(), 0);
}

void TestAckTracker::aloneIsDegradedAtOnceAfterLocalCommit()
{
    AckTracker tracker([] { return qint64(0); });
    std::optional<AckTracker::Result> result;
    const quint64 id
        = tracker.open({}, true, true, std::nullopt, [&](AckTracker::Result r) { result = r; });
    QVERIFY(!result);
    tracker.localCommitted(id);
    QVERIFY(result);
    QVERIFY(result->degraded);
    QVERIFY(!result->replicated);
    QCOMPARE(tracker.acksDegraded(), quint64(1));
}

void TestAckTracker::timeoutDegrades()
{
    qint64 now = 0;
    AckTracker tracker([&] { return now; }, 5000);
    std::optional<AckTracker::Result> result;
    const quint64 id = tracker.open(
        { { u"a"_s, 1 } }, false, false, std::nullopt, [&](AckTracker::Result r) { result = r; });
    tracker.localCommitted(id);
    QCOMPARE(tracker.nextDeadline(), std::optional<qint64>(5000));
    now = 4999;
    tracker.expire();
    QVERIFY(!result);
    now = 5000;
    tracker.expire();
    QVERIFY(result);
    QVERIFY(result->degraded);
    QCOMPARE(tracker.acksDegraded(), quint64(1));
    QVERIFY(!tracker.nextDeadline());
    // The late ack changes nothing.
    tracker.acked(u"a"_s, 1);
    QCOMPARE(tracker.acksMet(), quint64(0));
}

void TestAckTracker::opTimeoutOverridesDefault()
{
    qint64 now = 0;
    AckTracker tracker([&] { return now; }, 5000);
    bool ended = false;
    const quint64 id
        = tracker.open({ { u"a"_s, 1 } }, false, false, 200, [&](AckTracker::Result r) {
              ended = true;
              QVERIFY(r.degraded);
          });
    now = 200;
    tracker.expire();
    QVERIFY(!ended); // still waiting for the local commit
    tracker.localCommitted(id);
    QVERIFY(ended);
}

void TestAckTracker::cumulativeAckCoversSeveralWaits()
{
    AckTracker tracker([] { return qint64(0); });
    int ended = 0;
    QList<quint64> ids;
    for (quint64 seq = 1; seq <= 3; ++seq) {
        ids.append(tracker.open(
            { { u"a"_s, seq } }, false, false, std::nullopt, [&](AckTracker::Result r) {
                QVERIFY(!r.degraded);
                ++ended;
            }));
        tracker.localCommitted(ids.last());
    }
    tracker.acked(u"a"_s, 2);
    QCOMPARE(ended, 2);
    tracker.acked(u"a"_s, 5);
    QCOMPARE(ended, 3);
    QCOMPARE(tracker.pending(), 0);
}

void TestAckTracker::batchAckedOnlyWhenEverySetMet()
{
    // Two ops of one batch, owned by a and b: one wait on both.
    AckTracker tracker([] { return qint64(0); });
    bool ended = false;
    const quint64 id = tracker.open({ { u"a"_s, 4 }, { u"b"_s, 9 } }, false, false, std::nullopt,
        [&](AckTracker::Result) { ended = true; });
    tracker.localCommitted(id);
    tracker.acked(u"b"_s, 9);
    QVERIFY(!ended);
    tracker.acked(u"a"_s, 4);
    QVERIFY(ended);
}

void TestAckTracker::cancelledWaitNeverEnds()
{
    qint64 now = 0;
    AckTracker tracker([&] { return now; }, 10);
    bool ended = false;
    const quint64 id = tracker.open(
        { { u"a"_s, 1 } }, false, false, std::nullopt, [&](AckTracker::Result) { ended = true; });
    tracker.cancel(id);
    QVERIFY(!tracker.nextDeadline());
    now = 100;
    tracker.expire();
    tracker.acked(u"a"_s, 1);
    QVERIFY(!ended);
}

QTEST_GUILESS_MAIN(TestAckTracker)
#include "tst_acktracker.moc"

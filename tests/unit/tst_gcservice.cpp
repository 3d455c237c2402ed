#include "TestSession.h"

#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "ops/Committer.h"
#include "protocol/Messages.h"
#include "sync/GcService.h"

#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using sync::GcService;
using test::ScriptedStorage;
using test::TestSession;
using WriteKind = storage::StorageWrite::Kind;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;
constexpr qint64 kAge = 10'000;

crdt::Timestamp at(qint64 millis)
{
    return { millis, 0, u"client-a"_s };
}

struct Node {
    qint64 clock = kNow;
    maps::MapRegistry maps { u"server-1"_s, [this] { return clock; } };
    live::QueryRegistry queries;
    ScriptedStorage storage;
    ops::Committer committer { storage, queries, maps.hlc() };
    GcService gc { maps, committer, 60'000, kAge };
    TestSession listener { 1 };
    QList<GcService::Result> collected;
    QStringList failures;

    Node()
    {
        listener.authenticate();
        queries.addMapListener(&listener, u"todos"_s);
        queries.addMapListener(&listener, u"tags"_s);
        QObject::connect(&gc, &GcService::collected, &gc,
            [this](const GcService::Result &result) { collected.append(result); });
        QObject::connect(&gc, &GcService::failed, &gc,
            [this](const QString &reason) { failures.append(reason); });
    }

    void tombstone(const QString &key, qint64 millis)
    {
        maps.lwwMap(u"todos"_s)
            ->merge(key, { QCborValue(QCborValue::Null), at(millis), std::nullopt });
    }
    void value(const QString &key, qint64 millis, std::optional<qint64> ttl = std::nullopt)
    {
        maps.lwwMap(u"todos"_s)->merge(key, { key, at(millis), ttl });
    }
    QString orTombstone(const QString &key, qint64 millis)
    {
        const crdt::OrRecord record { key, at(millis), at(millis).toString(), std::nullopt };
        maps.orMap(u"tags"_s)->apply(key, record);
        maps.orMap(u"tags"_s)->applyTombstone(record.tag);
        return record.tag;
    }
    QList<WriteKind> writeKinds() const
    {
        QList<WriteKind> kinds;
        for (const auto &writes : storage.writes()) {
            for (const storage::StorageWrite &write : writes)
                kinds.append(write.kind);
        }
        return kinds;
    }
};

} // namespace

class TestGcService : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { m_node = std::make_unique<Node>(); }
    void cleanup() { m_node.reset(); }

    void prunesTombstonesBelowTheHorizon_data();
    void prunesTombstonesBelowTheHorizon();
    void prunesOrTombstones();
    void ttlExpiryIsAnUpdatedEvent();
    void ttlExpiryOfAnOrRecordIsAnOrRemove();
    void horizonIsClampedToNow();
    void horizonFollowsTheClock();
    void totalsCountCommittedRunsOnly();
    void failedCommitIsReported();
    void timerRuns();

private:
    std::unique_ptr<Node> m_node;
};

void TestGcService::prunesTombstonesBelowTheHorizon_data()
{
    QTest::addColumn<qint64>("tombstoneAt");
    QTest::addColumn<bool>("pruned");

    QTest::newRow("older") << kNow - kAge - 1 << true;
    QTest::newRow("at the horizon") << kNow - kAge << false;
    QTest::newRow("newer") << kNow - kAge + 1 << false;
}

void TestGcService::prunesTombstonesBelowTheHorizon()
{
    QFETCH(qint64, tombstoneAt);
    QFETCH(bool, pruned);
    Node &n = *m_node;
    n.tombstone(u"gone"_s, tombstoneAt);
    n.value(u"live"_s, kNow - 2 * kAge);

    const GcService::Result result = n.gc.collect(n.gc.horizon());

    QCOMPARE(result.pruned, pruned ? 1 : 0);
    QCOMPARE(result.expired, 0);
    QCOMPARE(result.olderThan.millis, kNow - kAge);
    QCOMPARE(n.maps.lwwMap(u"todos"_s)->contains(u"gone"_s), !pruned);
    QVERIFY(n.maps.lwwMap(u"todos"_s)->contains(u"live"_s));
    QCOMPARE(
        n.writeKinds(), pruned ? QList<WriteKind> { WriteKind::LwwDelete } : QList<WriteKind> {});
    // A prune is stored only; nobody is told.
    QVERIFY(n.listener.sent().isEmpty());
    QCOMPARE(n.collected.size(), 1);
    QCOMPARE(n.collected.first().pruned, result.pruned);
}

void TestGcService::prunesOrTombstones()
{
    Node &n = *m_node;
    const QString old = n.orTombstone(u"a"_s, kNow - kAge - 5);
    const QString recent = n.orTombstone(u"b"_s, kNow - 5);

    const GcService::Result result = n.gc.collect(n.gc.horizon());

    QCOMPARE(result.pruned, 1);
    const crdt::OrMap &tags = *n.maps.findOr(u"tags"_s);
    QVERIFY(!tags.isTombstoned(old));
    QVERIFY(tags.isTombstoned(recent));
    QCOMPARE(n.writeKinds(), QList<WriteKind> { WriteKind::OrDeleteTombstone });
    QCOMPARE(n.storage.writes().first().first().tag, old);
}

void TestGcService::ttlExpiryIsAnUpdatedEvent()
{
    Node &n = *m_node;
    n.value(u"short"_s, kNow - 100, 1000);
    n.value(u"forever"_s, kNow - 100);
    QCOMPARE(n.gc.collect(n.gc.horizon()).expired, 0);
    QVERIFY(n.listener.sent().isEmpty());

    n.clock = kNow + 1000;
    const GcService::Result result = n.gc.collect(n.gc.horizon());

    QCOMPARE(result.expired, 1);
    QVERIFY(!n.maps.lwwMap(u"todos"_s)->get(u"short"_s));
    QVERIFY(n.maps.lwwMap(u"todos"_s)->get(u"forever"_s));
    const auto events = n.listener.typed<ServerEventMessage>();
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first()->event.eventType, ServerEventType::Updated);
    QCOMPARE(events.first()->event.key, u"short"_s);
    QVERIFY(events.first()->event.record->isTombstone());
    QCOMPARE(events.first()->event.record->timestamp.millis, kNow - 100 + 1000);
    QCOMPARE(n.writeKinds(), QList<WriteKind> { WriteKind::LwwPut });
    // The tombstone this run made waits for a later run.
    QVERIFY(n.maps.lwwMap(u"todos"_s)->contains(u"short"_s));
}

void TestGcService::ttlExpiryOfAnOrRecordIsAnOrRemove()
{
    Node &n = *m_node;
    const crdt::OrRecord record { u"x"_s, at(kNow - 100), at(kNow - 100).toString(), 50 };
    n.maps.orMap(u"tags"_s)->apply(u"k"_s, record);

    const GcService::Result result = n.gc.collect(n.gc.horizon());

    QCOMPARE(result.expired, 1);
    QVERIFY(n.maps.findOr(u"tags"_s)->isTombstoned(record.tag));
    const auto events = n.listener.typed<ServerEventMessage>();
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first()->event.eventType, ServerEventType::OrRemove);
    QCOMPARE(events.first()->event.orTag, record.tag);
    QCOMPARE(n.writeKinds(), QList<WriteKind> { WriteKind::OrTombstone });
}

void TestGcService::horizonIsClampedToNow()
{
    Node &n = *m_node;
    // Issued by this node's clock at now, so above any clamped horizon.
    n.maps.lwwMap(u"todos"_s)->remove(u"just-now"_s);
    n.tombstone(u"old"_s, kNow - 1);

    const GcService::Result result = n.gc.collect(kNow + 1'000'000);

    QCOMPARE(result.olderThan.millis, kNow);
    QCOMPARE(result.pruned, 1);
    QVERIFY(n.maps.lwwMap(u"todos"_s)->contains(u"just-now"_s));
    QVERIFY(!n.maps.lwwMap(u"todos"_s)->contains(u"old"_s));
}

void TestGcService::horizonFollowsTheClock()
{
    Node &n = *m_node;
    QCOMPARE(n.gc.horizon(), kNow - kAge);
    n.clock += 5;
    QCOMPARE(n.gc.horizon(), kNow - kAge + 5);
}

void TestGcService::totalsCountCommittedRunsOnly()
{
    Node &n = *m_node;
    n.storage.setMode(ScriptedStorage::Mode::Deferred);
    n.tombstone(u"a"_s, kNow - kAge - 2);
    n.tombstone(u"b"_s, kNow - kAge - 1);
    n.value(u"c"_s, kNow - 100, 10);

    n.gc.collect(n.gc.horizon());
    QCOMPARE(n.gc.totals().runs, quint64(0));
    QVERIFY(n.collected.isEmpty());
    QVERIFY(n.listener.sent().isEmpty());

    n.storage.release();
    QCOMPARE(n.collected.size(), 1);
    QCOMPARE(n.gc.totals().runs, quint64(1));
    QCOMPARE(n.gc.totals().pruned, quint64(2));
    QCOMPARE(n.gc.totals().expired, quint64(1));
    QCOMPARE(n.listener.typed<ServerEventMessage>().size(), 1);

    n.gc.collect(n.gc.horizon());
    n.storage.release();
    QCOMPARE(n.gc.totals().runs, quint64(2));
    QCOMPARE(n.gc.totals().pruned, quint64(2));
}

void TestGcService::failedCommitIsReported()
{
    Node &n = *m_node;
    n.storage.setMode(ScriptedStorage::Mode::Fail);
    n.tombstone(u"a"_s, kNow - kAge - 1);

    n.gc.collect(n.gc.horizon());

    QCOMPARE(n.failures, QStringList { u"disk full"_s });
    QVERIFY(n.collected.isEmpty());
    QCOMPARE(n.gc.totals().runs, quint64(0));
}

void TestGcService::timerRuns()
{
    Node &n = *m_node;
    GcService gc(n.maps, n.committer, 5, kAge);
    int runs = 0;
    connect(&gc, &GcService::collected, this, [&runs] { ++runs; });
    n.tombstone(u"a"_s, kNow - kAge - 1);

    gc.start();
    QVERIFY(gc.isActive());
    QTRY_VERIFY(runs >= 1);
    gc.stop();
    QVERIFY(!gc.isActive());
    QVERIFY(!n.maps.lwwMap(u"todos"_s)->contains(u"a"_s));
}

QTEST_GUILESS_MAIN(TestGcService)
#include "tst_gcservice.moc"

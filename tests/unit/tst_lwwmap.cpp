#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"

#include <QHash>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>

#include <algorithm>
#include <limits>
#include <random>

using namespace wingman::crdt;

namespace {

LwwRecord record(const QCborValue &value, qint64 millis, qint32 counter, const QString &nodeId,
    std::optional<qint64> ttlMs = std::nullopt)
{
    return LwwRecord { value, Timestamp { millis, counter, nodeId }, ttlMs };
}

LwwRecord tombstone(qint64 millis, qint32 counter, const QString &nodeId)
{
    return record(QCborValue(QCborValue::Null), millis, counter, nodeId);
}

// The Merkle root of a map's records computed from scratch.
quint32 rebuiltRoot(const LwwMap &map)
{
    MerkleTree tree;
    map.forEach([&tree](const QString &key, const LwwRecord &record) {
        tree.update(key, MerkleTree::itemHash(key, record.timestamp));
    });
    return tree.rootHash();
}

QHash<QString, LwwRecord> contents(const LwwMap &map)
{
    QHash<QString, LwwRecord> all;
    map.forEach([&all](const QString &key, const LwwRecord &record) { all.insert(key, record); });
    return all;
}

} // namespace

class tst_LwwMap : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void setThenGet();
    void setStampsWithClock();
    void removeLeavesTombstone();
    void mergeIntoEmptyAccepted();
    void merge_data();
    void merge();
    void mergeAdvancesClock();
    void mergeRejectedByStrictClock();
    void mergedTombstoneHidesValue();
    void ttlHidesExpiredValue();
    void ttlZeroNeverExpires();
    void pruneRemovesOldTombstonesOnly();
    void expireTurnsExpiredRecordsIntoTombstones();
    void expiryTombstoneNeedsPositiveTtl_data();
    void expiryTombstoneNeedsPositiveTtl();
    void expiredThenPrunedLeavesTheEarlierRoot();
    void merkleTracksEveryChange();
    void merkleMatchesCoreVectors();
    void replicasConvergeInAnyOrder();
    void listenerSeesEveryChange();
    void nodeIdsInterned();
    void largeMapAgainstModel();
    void clearEmptiesEverything();
    void bulkLoadMatchesMerge();
    void recordsKeepTheirOwnTtlAndForm();

private:
    qint64 m_wall = 0;
    std::unique_ptr<Hlc> m_hlc;
};

void tst_LwwMap::init()
{
    m_wall = 1700000000000;
    m_hlc = std::make_unique<Hlc>(QStringLiteral("server"), [this] { return m_wall; });
}

void tst_LwwMap::setThenGet()
{
    LwwMap map(*m_hlc);
    map.set(QStringLiteral("a"), QCborValue(1));
    map.set(QStringLiteral("b"), QCborValue(QStringLiteral("two")));
    QCOMPARE(map.get(QStringLiteral("a")), std::optional(QCborValue(1)));
    QCOMPARE(map.get(QStringLiteral("b")), std::optional(QCborValue(QStringLiteral("two"))));
    QCOMPARE(map.get(QStringLiteral("c")), std::nullopt);
    QCOMPARE(map.size(), 2);
    map.set(QStringLiteral("a"), QCborValue(3));
    QCOMPARE(map.get(QStringLiteral("a")), std::optional(QCborValue(3)));
    QCOMPARE(map.size(), 2);
}

void tst_LwwMap::setStampsWithClock()
{
    LwwMap map(*m_hlc);
    const LwwRecord first = map.set(QStringLiteral("a"), QCborValue(1), 5000);
    QCOMPARE(first.timestamp, (Timestamp { m_wall, 0, QStringLiteral("server") }));
    QCOMPARE(first.ttlMs, std::optional<qint64>(5000));
    const LwwRecord second = map.set(QStringLiteral("a"), QCborValue(2));
    QCOMPARE(second.timestamp, (Timestamp { m_wall, 1, QStringLiteral("server") }));
    QCOMPARE(map.getRecord(QStringLiteral("a")), std::optional(second));
}

void tst_LwwMap::removeLeavesTombstone()
{
    LwwMap map(*m_hlc);
    map.set(QStringLiteral("a"), QCborValue(1));
    const LwwRecord removed = map.remove(QStringLiteral("a"));
    QVERIFY(removed.isTombstone());
    QCOMPARE(map.get(QStringLiteral("a")), std::nullopt);
    const auto stored = map.getRecord(QStringLiteral("a"));
    QVERIFY(stored);
    QVERIFY(stored->isTombstone());
    QCOMPARE(stored->timestamp, (Timestamp { m_wall, 1, QStringLiteral("server") }));
    QCOMPARE(map.size(), 1);
}

void tst_LwwMap::mergeIntoEmptyAccepted()
{
    LwwMap map(*m_hlc);
    const LwwRecord remote
        = record(QCborValue(7), m_wall - 5000, 2, QStringLiteral("client"), 60000);
    QVERIFY(map.merge(QStringLiteral("k"), remote));
    QCOMPARE(map.getRecord(QStringLiteral("k")), std::optional(remote));
}

void tst_LwwMap::merge_data()
{
    QTest::addColumn<qint64>("localMillis");
    QTest::addColumn<qint32>("localCounter");
    QTest::addColumn<QString>("localNode");
    QTest::addColumn<qint64>("remoteMillis");
    QTest::addColumn<qint32>("remoteCounter");
    QTest::addColumn<QString>("remoteNode");
    QTest::addColumn<bool>("accepted");

    QTest::newRow("newer millis wins")
        << qint64(100) << 5 << "a" << qint64(101) << 0 << "a" << true;
    QTest::newRow("older millis loses")
        << qint64(100) << 0 << "a" << qint64(99) << 9 << "z" << false;
    QTest::newRow("newer counter wins")
        << qint64(100) << 1 << "z" << qint64(100) << 2 << "a" << true;
    QTest::newRow("older counter loses")
        << qint64(100) << 2 << "a" << qint64(100) << 1 << "z" << false;
    QTest::newRow("equal timestamp keeps local")
        << qint64(100) << 1 << "n" << qint64(100) << 1 << "n" << false;
    QTest::newRow("tie: B after a (localeCompare)")
        << qint64(100) << 1 << "a" << qint64(100) << 1 << "B" << true;
    QTest::newRow("tie: a before B (localeCompare)")
        << qint64(100) << 1 << "B" << qint64(100) << 1 << "a" << false;
    QTest::newRow("tie: a-b after a_b")
        << qint64(100) << 0 << "a_b" << qint64(100) << 0 << "a-b" << true;
}

void tst_LwwMap::merge()
{
    QFETCH(qint64, localMillis);
    QFETCH(qint32, localCounter);
    QFETCH(QString, localNode);
    QFETCH(qint64, remoteMillis);
    QFETCH(qint32, remoteCounter);
    QFETCH(QString, remoteNode);
    QFETCH(bool, accepted);

    LwwMap map(*m_hlc);
    const LwwRecord local
        = record(QCborValue(QStringLiteral("local")), localMillis, localCounter, localNode);
    const LwwRecord remote
        = record(QCborValue(QStringLiteral("remote")), remoteMillis, remoteCounter, remoteNode);
    QVERIFY(map.merge(QStringLiteral("k"), local));
    const quint32 rootBefore = map.merkleTree().rootHash();

    QCOMPARE(map.merge(QStringLiteral("k"), remote), accepted);
    QCOMPARE(map.getRecord(QStringLiteral("k")), std::optional(accepted ? remote : local));
    QCOMPARE(map.merkleTree().rootHash(),
        MerkleTree::itemHash(u"k", accepted ? remote.timestamp : local.timestamp));
    QCOMPARE(map.merkleTree().rootHash() == rootBefore,
        !accepted || remote.timestamp == local.timestamp);
}

void tst_LwwMap::mergeAdvancesClock()
{
    LwwMap map(*m_hlc);
    map.merge(QStringLiteral("k"), record(QCborValue(1), m_wall + 3000, 4, QStringLiteral("fast")));
    const LwwRecord local = map.set(QStringLiteral("k"), QCborValue(2));
    QCOMPARE(local.timestamp, (Timestamp { m_wall + 3000, 6, QStringLiteral("server") }));
    QCOMPARE(map.get(QStringLiteral("k")), std::optional(QCborValue(2)));
}

void tst_LwwMap::mergeRejectedByStrictClock()
{
    m_hlc->setStrict(true);
    LwwMap map(*m_hlc);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("clock drift.*rejected"));
    QVERIFY(!map.merge(
        QStringLiteral("k"), record(QCborValue(1), m_wall + 120000, 0, QStringLiteral("fast"))));
    QVERIFY(!map.contains(QStringLiteral("k")));
    QCOMPARE(map.merkleTree().rootHash(), 0u);
}

void tst_LwwMap::mergedTombstoneHidesValue()
{
    LwwMap map(*m_hlc);
    map.merge(QStringLiteral("k"), record(QCborValue(1), 100, 0, QStringLiteral("a")));
    QVERIFY(map.merge(QStringLiteral("k"), tombstone(101, 0, QStringLiteral("b"))));
    QCOMPARE(map.get(QStringLiteral("k")), std::nullopt);
    // A late write older than the tombstone does not resurrect the key.
    QVERIFY(!map.merge(QStringLiteral("k"), record(QCborValue(2), 100, 5, QStringLiteral("c"))));
    QCOMPARE(map.get(QStringLiteral("k")), std::nullopt);
    QVERIFY(map.merge(QStringLiteral("k"), record(QCborValue(3), 102, 0, QStringLiteral("c"))));
    QCOMPARE(map.get(QStringLiteral("k")), std::optional(QCborValue(3)));
}

void tst_LwwMap::ttlHidesExpiredValue()
{
    LwwMap map(*m_hlc);
    const qint64 start = m_wall;
    map.set(QStringLiteral("k"), QCborValue(1), 1000);
    m_wall = start + 1000; // millis + ttl == now: still live
    QCOMPARE(map.get(QStringLiteral("k")), std::optional(QCborValue(1)));
    m_wall = start + 1001;
    QCOMPARE(map.get(QStringLiteral("k")), std::nullopt);
    // The record itself stays, for sync and for the GC to turn into a tombstone.
    QVERIFY(map.getRecord(QStringLiteral("k")));
    QVERIFY(map.getRecord(QStringLiteral("k"))->isExpired(m_wall));
}

void tst_LwwMap::ttlZeroNeverExpires()
{
    LwwMap map(*m_hlc);
    map.merge(
        QStringLiteral("k"), record(QCborValue(1), m_wall - 100000, 0, QStringLiteral("c"), 0));
    QCOMPARE(map.get(QStringLiteral("k")), std::optional(QCborValue(1)));
}

void tst_LwwMap::pruneRemovesOldTombstonesOnly()
{
    LwwMap map(*m_hlc);
    map.merge(QStringLiteral("old-tombstone"), tombstone(100, 0, QStringLiteral("a")));
    map.merge(QStringLiteral("tie-tombstone"), tombstone(200, 0, QStringLiteral("a")));
    map.merge(QStringLiteral("new-tombstone"), tombstone(300, 0, QStringLiteral("a")));
    map.merge(QStringLiteral("old-value"), record(QCborValue(1), 50, 0, QStringLiteral("a")));
    const quint32 rootBefore = map.merkleTree().rootHash();

    const QStringList pruned = map.prune(Timestamp { 200, 0, QStringLiteral("b") });
    QCOMPARE(QSet<QString>(pruned.cbegin(), pruned.cend()),
        (QSet<QString> { QStringLiteral("old-tombstone"), QStringLiteral("tie-tombstone") }));
    QVERIFY(!map.contains(QStringLiteral("old-tombstone")));
    QVERIFY(map.contains(QStringLiteral("new-tombstone")));
    QCOMPARE(map.get(QStringLiteral("old-value")), std::optional(QCborValue(1)));
    QCOMPARE(map.size(), 2);

    QVERIFY(map.merkleTree().rootHash() != rootBefore);
    QCOMPARE(map.merkleTree().rootHash(), rebuiltRoot(map));
    QCOMPARE(map.merkleTree().size(), 2);
    QCOMPARE(map.prune(Timestamp { 200, 0, QStringLiteral("b") }), QStringList());
}

void tst_LwwMap::expireTurnsExpiredRecordsIntoTombstones()
{
    LwwMap map(*m_hlc);
    const qint64 start = m_wall;
    map.merge(QStringLiteral("short"),
        record(QCborValue(1), start - 10, 4, QStringLiteral("client"), 1000));
    map.merge(QStringLiteral("long"), record(QCborValue(2), start, 0, QStringLiteral("c"), 60000));
    map.merge(QStringLiteral("forever"),
        record(QCborValue(3), start - 100000, 0, QStringLiteral("c"), 0));
    map.merge(
        QStringLiteral("plain"), record(QCborValue(4), start - 100000, 0, QStringLiteral("c")));
    map.merge(QStringLiteral("gone"), tombstone(start - 100000, 0, QStringLiteral("c")));
    QList<std::pair<QString, LwwRecord>> seen;
    map.setChangeListener([&seen](const QString &key, const LwwRecord &record) {
        seen.append({ key, record });
    });

    m_wall = start + 990; // start - 10 + 1000 == now: not yet
    QVERIFY(map.expire(m_wall).isEmpty());
    m_wall = start + 991;
    const QList<LwwMap::Expiry> expired = map.expire(m_wall);
    QCOMPARE(expired.size(), 1);
    QCOMPARE(expired.first().key, QStringLiteral("short"));
    const LwwRecord expected = tombstone(start + 990, 0, QStringLiteral("server"));
    QCOMPARE(expired.first().tombstone, expected);
    QCOMPARE(map.getRecord(QStringLiteral("short")), std::optional(expected));
    QCOMPARE(seen.size(), 1);
    QCOMPARE(seen.first(), (std::pair { QStringLiteral("short"), expected }));
    QCOMPARE(map.merkleTree().rootHash(), rebuiltRoot(map));
    QCOMPARE(map.get(QStringLiteral("long")), std::optional(QCborValue(2)));
    QCOMPARE(map.get(QStringLiteral("forever")), std::optional(QCborValue(3)));
    QCOMPARE(map.get(QStringLiteral("plain")), std::optional(QCborValue(4)));
    QCOMPARE(map.size(), 5);

    // Expiry is a write like any other: a newer remote write beats it, an older one loses.
    QVERIFY(!map.merge(
        QStringLiteral("short"), record(QCborValue(5), start + 989, 9, QStringLiteral("z"))));
    QVERIFY(map.expire(m_wall).isEmpty());
    m_wall = start + 60001;
    QCOMPARE(map.expire(m_wall).size(), 1);
    QVERIFY(map.getRecord(QStringLiteral("long"))->isTombstone());
}

void tst_LwwMap::expiryTombstoneNeedsPositiveTtl_data()
{
    QTest::addColumn<std::optional<qint64>>("ttlMs");
    QTest::addColumn<bool>("expires");
    QTest::newRow("none") << std::optional<qint64>() << false;
    QTest::newRow("zero") << std::optional<qint64>(0) << false;
    QTest::newRow("negative") << std::optional<qint64>(-5) << false;
    QTest::newRow("overflowing") << std::optional<qint64>(std::numeric_limits<qint64>::max())
                                 << false;
    QTest::newRow("one") << std::optional<qint64>(1) << true;
}

void tst_LwwMap::expiryTombstoneNeedsPositiveTtl()
{
    QFETCH(std::optional<qint64>, ttlMs);
    QFETCH(bool, expires);
    const LwwRecord live = record(QCborValue(1), 100, 3, QStringLiteral("c"), ttlMs);
    const auto expired = live.expiryTombstone(QStringLiteral("server"));
    QCOMPARE(bool(expired), expires);
    if (expired) {
        QCOMPARE(*expired, tombstone(101, 0, QStringLiteral("server")));
        QVERIFY(expired->timestamp > live.timestamp);
    }
    LwwMap map(*m_hlc);
    map.merge(QStringLiteral("k"), live);
    QCOMPARE(map.expire(m_wall).size(), expires ? 1 : 0);
}

void tst_LwwMap::expiredThenPrunedLeavesTheEarlierRoot()
{
    LwwMap map(*m_hlc);
    map.merge(
        QStringLiteral("key1"), record(QCborValue(1), 1700000000000, 0, QStringLiteral("node-a")));
    const quint32 before = map.merkleTree().rootHash();
    map.merge(QStringLiteral("key2"),
        record(QCborValue(2), 1700000000001, 3, QStringLiteral("node-b"), 500));
    m_wall = 1700000000600;
    QCOMPARE(map.expire(m_wall).size(), 1);
    QVERIFY(map.merkleTree().rootHash() != before);

    QVERIFY(map.prune(Timestamp { 1700000000501, 0, QString() }).isEmpty());
    QCOMPARE(map.prune(Timestamp { 1700000000502, 0, QString() }),
        QStringList { QStringLiteral("key2") });
    QCOMPARE(map.merkleTree().rootHash(), before);
    QCOMPARE(map.merkleTree().rootHash(), 356983709u); // docs/core.md vector for key1 alone
    QCOMPARE(map.keys(), QStringList { QStringLiteral("key1") });
}

void tst_LwwMap::merkleTracksEveryChange()
{
    LwwMap map(*m_hlc);
    QRandomGenerator random(99);
    for (int i = 0; i < 2000; ++i) {
        const QString key = QStringLiteral("k%1").arg(random.bounded(300));
        switch (random.bounded(4)) {
        case 0:
            map.set(key, QCborValue(i));
            break;
        case 1:
            map.remove(key);
            break;
        default:
            map.merge(key,
                record(QCborValue(i), m_wall + random.bounded(-50, 50), qint32(random.bounded(3)),
                    QStringLiteral("n%1").arg(random.bounded(4))));
            break;
        }
        if (i % 500 == 499)
            map.prune(Timestamp { m_wall + 10, 0, QStringLiteral("x") });
        ++m_wall;
    }
    QCOMPARE(map.merkleTree().rootHash(), rebuiltRoot(map));
    QCOMPARE(map.merkleTree().size(), map.size());
}

void tst_LwwMap::merkleMatchesCoreVectors()
{
    LwwMap map(*m_hlc);
    map.merge(
        QStringLiteral("key1"), record(QCborValue(1), 1700000000000, 0, QStringLiteral("node-a")));
    QCOMPARE(map.merkleTree().rootHash(), 356983709u);
    map.merge(
        QStringLiteral("key2"), record(QCborValue(2), 1700000000001, 3, QStringLiteral("node-b")));
    QCOMPARE(map.merkleTree().rootHash(), 609102286u);
    map.merge(QStringLiteral("key3"),
        record(QCborValue(3), 1700000000002, 0, QStringLiteral("client-x")));
    QCOMPARE(map.merkleTree().rootHash(), 2212673935u);
    QCOMPARE(map.merkleTree().buckets(u""),
        (QMap<QString, quint32> { { QStringLiteral("3"), 2212673935u } }));
}

void tst_LwwMap::replicasConvergeInAnyOrder()
{
    QRandomGenerator random(5);
    QList<std::pair<QString, LwwRecord>> updates;
    const QStringList nodes { "a", "B", "a_b", "a-b" };
    for (int i = 0; i < 3000; ++i) {
        const QString key = QStringLiteral("k%1").arg(random.bounded(200));
        // Few distinct millis and counters, so node-id ties decide often.
        const LwwRecord update = random.bounded(5) == 0
            ? tombstone(
                1000 + random.bounded(3), qint32(random.bounded(2)), nodes[random.bounded(4)])
            : record(QCborValue(i), 1000 + random.bounded(3), qint32(random.bounded(2)),
                nodes[random.bounded(4)]);
        updates.append({ key, update });
    }
    // Equal timestamps on one key with different values would make the outcome order-dependent
    // by design (the local record stays); give each (key, timestamp) a single value.
    QHash<QString, LwwRecord> canonical;
    for (auto &[key, update] : updates) {
        const QString id = key + u'|' + update.timestamp.toString();
        if (canonical.contains(id))
            update = canonical.value(id);
        else
            canonical.insert(id, update);
    }

    Hlc hlcA(QStringLiteral("A"), [this] { return m_wall; });
    Hlc hlcB(QStringLiteral("B"), [this] { return m_wall; });
    LwwMap a(hlcA);
    LwwMap b(hlcB);
    for (const auto &[key, update] : updates)
        a.merge(key, update);
    std::shuffle(updates.begin(), updates.end(), std::mt19937(17));
    for (const auto &[key, update] : updates)
        b.merge(key, update);

    QCOMPARE(a.merkleTree().rootHash(), b.merkleTree().rootHash());
    QCOMPARE(contents(a), contents(b));
}

void tst_LwwMap::listenerSeesEveryChange()
{
    LwwMap map(*m_hlc);
    QList<std::pair<QString, LwwRecord>> seen;
    map.setChangeListener([&seen](const QString &key, const LwwRecord &record) {
        seen.append({ key, record });
    });
    const LwwRecord set = map.set(QStringLiteral("a"), QCborValue(1));
    const LwwRecord removed = map.remove(QStringLiteral("a"));
    const LwwRecord newer = record(QCborValue(2), m_wall + 10, 0, QStringLiteral("c"));
    QVERIFY(map.merge(QStringLiteral("a"), newer));
    QVERIFY(!map.merge(QStringLiteral("a"), record(QCborValue(3), 1, 0, QStringLiteral("c"))));
    map.prune(Timestamp { m_wall + 100, 0, QStringLiteral("x") });

    QCOMPARE(seen.size(), 3);
    QCOMPARE(seen[0], (std::pair { QStringLiteral("a"), set }));
    QCOMPARE(seen[1], (std::pair { QStringLiteral("a"), removed }));
    QCOMPARE(seen[2], (std::pair { QStringLiteral("a"), newer }));
}

void tst_LwwMap::nodeIdsInterned()
{
    LwwMap map(*m_hlc);
    for (int i = 0; i < 10; ++i) {
        // A fresh buffer per record, as a decoded message delivers it.
        const QString nodeId = QStringLiteral("client-") + QString::number(7);
        map.merge(QStringLiteral("k%1").arg(i), record(QCborValue(i), 100, i, nodeId));
    }
    const QString first = map.getRecord(QStringLiteral("k0"))->timestamp.nodeId;
    const QString last = map.getRecord(QStringLiteral("k9"))->timestamp.nodeId;
    QCOMPARE(first, QStringLiteral("client-7"));
    QCOMPARE(first.constData(), last.constData());
}

void tst_LwwMap::largeMapAgainstModel()
{
    // Enough keys to grow the index several times, with deletions leaving holes to reuse.
    LwwMap map(*m_hlc);
    QHash<QString, qint64> model;
    QRandomGenerator random(1234);
    for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 20000; ++i) {
            const QString key = QStringLiteral("key-%1").arg(random.bounded(30000));
            map.set(key, QCborValue(qint64(i)));
            model.insert(key, i);
        }
        QList<QString> victims = model.keys();
        victims.resize(victims.size() / 3);
        for (const QString &key : std::as_const(victims)) {
            map.remove(key);
            model.remove(key);
        }
        ++m_wall;
        map.prune(Timestamp { m_wall, 0, QStringLiteral("server") });
    }
    QCOMPARE(map.size(), model.size());
    for (auto it = model.cbegin(); it != model.cend(); ++it)
        QCOMPARE(map.get(it.key()), std::optional(QCborValue(it.value())));
    QCOMPARE(map.keys().size(), model.size());
    QCOMPARE(map.merkleTree().rootHash(), rebuiltRoot(map));
}

void tst_LwwMap::clearEmptiesEverything()
{
    LwwMap map(*m_hlc);
    map.set(QStringLiteral("a"), QCborValue(1));
    map.remove(QStringLiteral("b"));
    map.clear();
    QCOMPARE(map.size(), 0);
    QVERIFY(map.isEmpty());
    QCOMPARE(map.get(QStringLiteral("a")), std::nullopt);
    QCOMPARE(map.merkleTree().rootHash(), 0u);
    map.set(QStringLiteral("a"), QCborValue(2));
    QCOMPARE(map.get(QStringLiteral("a")), std::optional(QCborValue(2)));
    QCOMPARE(map.merkleTree().rootHash(), rebuiltRoot(map));
}

void tst_LwwMap::bulkLoadMatchesMerge()
{
    QHash<QString, LwwRecord> stored;
    for (int i = 0; i < 2000; ++i) {
        const QString key = QStringLiteral("key-%1").arg(i);
        if (i % 10 == 0)
            stored.insert(key, tombstone(m_wall - i, i % 3, QStringLiteral("n%1").arg(i % 4)));
        else
            stored.insert(key,
                record(QCborValue(i), m_wall - i, i % 3, QStringLiteral("n%1").arg(i % 4),
                    i % 7 == 0 ? std::optional<qint64>(60'000) : std::nullopt));
    }
    const Timestamp future { m_wall + 3'600'000, 9, QStringLiteral("far") };
    stored.insert(QStringLiteral("future"),
        record(QCborValue(true), future.millis, future.counter, future.nodeId));

    Hlc mergeClock(QStringLiteral("server"), [this] { return m_wall; });
    LwwMap merged(mergeClock);
    for (auto it = stored.cbegin(); it != stored.cend(); ++it)
        QVERIFY(merged.merge(it.key(), it.value()));

    LwwMap loaded(*m_hlc);
    int notified = 0;
    loaded.setChangeListener([&notified](const QString &, const LwwRecord &) { ++notified; });
    QCOMPARE(loaded.load(stored.cbegin(), stored.cend()), std::optional(future));
    QCOMPARE(notified, 0);
    QCOMPARE(m_hlc->now(), (Timestamp { m_wall, 0, QStringLiteral("server") }));
    QCOMPARE(loaded.size(), stored.size());
    QCOMPARE(contents(loaded), stored);
    QCOMPARE(loaded.merkleTree().rootHash(), merged.merkleTree().rootHash());
    QCOMPARE(loaded.merkleTree().rootHash(), rebuiltRoot(loaded));
    // The leaves sized up front hold the same nodes as the ones grown one key at a time.
    const QMap<QString, quint32> level1 = loaded.merkleTree().buckets(u"");
    QCOMPARE(level1, merged.merkleTree().buckets(u""));
    for (auto it = level1.cbegin(); it != level1.cend(); ++it) {
        QCOMPARE(loaded.merkleTree().buckets(it.key()), merged.merkleTree().buckets(it.key()));
        QCOMPARE(loaded.merkleTree().keysInBucket(it.key() + QStringLiteral("00")),
            merged.merkleTree().keysInBucket(it.key() + QStringLiteral("00")));
    }
    QCOMPARE(loaded.get(QStringLiteral("key-1")), std::optional(QCborValue(1)));
    QCOMPARE(loaded.get(QStringLiteral("key-10")), std::nullopt);

    // Loading over an existing key replaces it rather than adding a second entry.
    const QHash<QString, LwwRecord> again { { QStringLiteral("key-1"),
        record(QCborValue(-1), m_wall + 5, 0, QStringLiteral("n0")) } };
    loaded.load(again.cbegin(), again.cend());
    QCOMPARE(loaded.size(), stored.size());
    QCOMPARE(loaded.get(QStringLiteral("key-1")), std::optional(QCborValue(-1)));
    loaded.set(QStringLiteral("after"), QCborValue(1));
    QCOMPARE(notified, 1);
}

void tst_LwwMap::recordsKeepTheirOwnTtlAndForm()
{
    // A record's TTL is kept aside from the record: it must follow the record through
    // overwrites, removal and the reuse of a freed slot, and a packed value must stay packed.
    LwwMap map(*m_hlc);
    const QString node = QStringLiteral("n1");
    QVERIFY(map.merge(QStringLiteral("a"), record(QCborValue(1), m_wall - 10, 0, node, 5'000)));
    QVERIFY(map.merge(QStringLiteral("b"), record(QCborValue(2), m_wall - 10, 0, node, 0)));
    QCOMPARE(map.getRecord(QStringLiteral("a"))->ttlMs, std::optional<qint64>(5'000));
    QCOMPARE(map.getRecord(QStringLiteral("b"))->ttlMs, std::optional<qint64>(0));

    QVERIFY(map.merge(QStringLiteral("a"), record(QCborValue(3), m_wall - 5, 0, node)));
    QCOMPARE(map.getRecord(QStringLiteral("a"))->ttlMs, std::nullopt);
    QVERIFY(map.merge(QStringLiteral("a"), record(QCborValue(4), m_wall - 4, 0, node, 1)));
    QCOMPARE(map.get(QStringLiteral("a")), std::nullopt); // expired on the clock

    const Value packed = Value::fromPacked(QByteArray("\xa3"
                                                      "abc",
        4));
    QVERIFY(map.merge(QStringLiteral("c"), LwwRecord { packed, { m_wall - 3, 0, node }, 7 }));
    const LwwRecord stored = *map.getRecord(QStringLiteral("c"));
    QVERIFY(stored.value.isPacked());
    QCOMPARE(stored.value.packed(), packed.packed());
    QCOMPARE(stored.ttlMs, std::optional<qint64>(7));
    QCOMPARE(map.get(QStringLiteral("c")), std::optional(QCborValue(QStringLiteral("abc"))));

    // Freed slots are reused; the new record must not inherit the old one's TTL or form.
    QVERIFY(map.merge(QStringLiteral("c"), tombstone(m_wall - 2, 0, node)));
    QVERIFY(map.merge(QStringLiteral("a"), tombstone(m_wall - 2, 0, node)));
    QCOMPARE(map.prune(Timestamp { m_wall, 0, node }).size(), 2);
    QVERIFY(map.merge(QStringLiteral("d"), record(QCborValue(5), m_wall - 1, 0, node)));
    QVERIFY(map.merge(QStringLiteral("e"), record(QCborValue(6), m_wall - 1, 0, node)));
    for (const QString &key : { QStringLiteral("d"), QStringLiteral("e") }) {
        const LwwRecord fresh = *map.getRecord(key);
        QCOMPARE(fresh.ttlMs, std::nullopt);
        QVERIFY(!fresh.value.isPacked());
    }
    QCOMPARE(map.getRecord(QStringLiteral("b"))->ttlMs, std::optional<qint64>(0));
    QCOMPARE(map.merkleTree().rootHash(), rebuiltRoot(map));
}

QTEST_APPLESS_MAIN(tst_LwwMap)
#include "tst_lwwmap.moc"

#include "crdt/Hash.h"
#include "crdt/Hlc.h"
#include "crdt/OrMap.h"

#include <QCborArray>
#include <QCborMap>
#include <QRandomGenerator>
#include <QTest>

#include <memory>
#include <vector>

using namespace wingman::crdt;

namespace {

QCborMap object(std::initializer_list<std::pair<QString, QCborValue>> entries)
{
    QCborMap map;
    for (const auto &[key, value] : entries)
        map.insert(key, value);
    return map;
}

OrRecord orRecord(
    const QCborValue &value, const Timestamp &timestamp, std::optional<qint64> ttlMs = std::nullopt)
{
    return OrRecord { value, timestamp, timestamp.toString(), ttlMs };
}

// Everything that must converge: records per key, tombstones and the Merkle root.
struct State {
    QMap<QString, QList<OrRecord>> records;
    QStringList tombstones;
    quint32 root = 0;
    friend bool operator==(const State &, const State &) = default;
};

State stateOf(const OrMap &map)
{
    State state;
    for (const QString &key : map.keys())
        state.records.insert(key, map.records(key));
    state.tombstones = map.tombstones();
    state.root = map.merkleTree().rootHash();
    return state;
}

char *describe(const State &state)
{
    QString text = QStringLiteral("root %1, %2 keys, %3 tombstones")
                       .arg(state.root)
                       .arg(state.records.size())
                       .arg(state.tombstones.size());
    return qstrdup(text.toUtf8().constData());
}

// One replica: its own clock (shared fake time) and map.
struct Replica {
    Replica(const QString &nodeId, qint64 *wall)
        : hlc(nodeId, [wall] { return *wall; })
        , map(hlc)
    { }
    Hlc hlc;
    OrMap map;
};

} // namespace

namespace QTest {
template <> char *toString(const State &state)
{
    return describe(state);
}
} // namespace QTest

class tst_OrMap : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void recordVectors_data();
    void recordVectors();
    void entryHashSortsByTag();
    void addThenGet();
    void addUsesTimestampAsTag();
    void removeTombstonesObservedTags();
    void removeComparesNumbersByValue();
    void concurrentAddWins();
    void applyIgnoresTombstonedTag();
    void applyTombstoneDropsRecord();
    void ttlHidesExpiredRecords();
    void pruneDropsOldTombstones();
    void expireTombstonesExpiredTags();
    void mergeKeyAppliesRecordsAndTombstones();
    void merkleTracksEveryChange();
    void mergeIsCommutativeAssociativeIdempotent_data();
    void mergeIsCommutativeAssociativeIdempotent();
    void listenerSeesChangedKeys();

private:
    qint64 m_wall = 0;
    std::unique_ptr<Hlc> m_hlc;
};

void tst_OrMap::init()
{
    m_wall = 1700000000000;
    m_hlc = std::make_unique<Hlc>(QStringLiteral("n1"), [this] { return m_wall; });
}

void tst_OrMap::recordVectors_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<qint64>("ttlMs"); // -1: none
    QTest::addColumn<QString>("expected");
    QTest::addColumn<quint32>("expectedHash");

    // docs/core.md "OR-map record strings and hashes".
    QTest::newRow("string") << QCborValue(QStringLiteral("hello")) << qint64(-1)
                            << "1700000000000:0:n1:hello:1700000000000:0:n1" << 4259386581u;
    QTest::newRow("map, keys sorted")
        << QCborValue(object({ { "b", 2 }, { "a", 1 } })) << qint64(-1)
        << R"(1700000000000:0:n1:{"a":1,"b":2}:1700000000000:0:n1)" << 3869643697u;
    QTest::newRow("nested whitelist")
        << QCborValue(object({ { "b", object({ { "z", 1 }, { "a", 2 } }) },
               { "a", QCborArray { 1, 2.5, "x" } } }))
        << qint64(-1) << R"(1700000000000:0:n1:{"a":[1,2.5,"x"],"b":{"a":2}}:1700000000000:0:n1)"
        << 2406494367u;
    QTest::newRow("ttl") << QCborValue(object({ { "data", "orValue" } })) << qint64(1000)
                         << R"(1700000000000:0:n1:{"data":"orValue"}:1700000000000:0:n1:ttl=1000)"
                         << 3001372187u;
    QTest::newRow("0.1") << QCborValue(0.1) << qint64(-1)
                         << "1700000000000:0:n1:0.1:1700000000000:0:n1" << 2387281850u;
    QTest::newRow("1e21") << QCborValue(1e21) << qint64(-1)
                          << "1700000000000:0:n1:1e+21:1700000000000:0:n1" << 741189807u;
    QTest::newRow("true") << QCborValue(true) << qint64(-1)
                          << "1700000000000:0:n1:true:1700000000000:0:n1" << 280623393u;
}

void tst_OrMap::recordVectors()
{
    QFETCH(QCborValue, value);
    QFETCH(qint64, ttlMs);
    QFETCH(QString, expected);
    QFETCH(quint32, expectedHash);

    const OrRecord record = orRecord(value, Timestamp { 1700000000000, 0, QStringLiteral("n1") },
        ttlMs < 0 ? std::nullopt : std::optional(ttlMs));
    QCOMPARE(record.tag, QStringLiteral("1700000000000:0:n1"));
    QCOMPARE(OrMapMerkleTree::recordString(record), expected);
    QCOMPARE(OrMapMerkleTree::recordHash(record), expectedHash);

    // The same record added through the map hashes into its entry.
    m_wall = 1700000000000;
    OrMap map(*m_hlc);
    const OrRecord added
        = map.add(QStringLiteral("k"), value, ttlMs < 0 ? std::nullopt : std::optional(ttlMs));
    QCOMPARE(added, record);
    QCOMPARE(map.merkleTree().rootHash(), hash(QStringLiteral("key:k|") + expected));
}

void tst_OrMap::entryHashSortsByTag()
{
    const OrRecord hello = orRecord(QCborValue(QStringLiteral("hello")),
        Timestamp { 1700000000000, 0, QStringLiteral("n1") }, 500);
    const OrRecord world = orRecord(
        QCborValue(QStringLiteral("world")), Timestamp { 1700000000001, 0, QStringLiteral("n2") });
    // Node.js: hashString("key:k|<hello>|<world>") with TopGun's hashORMapEntry.
    QCOMPARE(OrMapMerkleTree::entryHash(u"k", { world, hello }), 3367859303u);
    QCOMPARE(OrMapMerkleTree::entryHash(u"k", { hello, world }), 3367859303u);
    // Tags sort by code unit, not numerically: "10:..." before "9:...".
    const OrRecord nine = orRecord(QCborValue(1), Timestamp { 9, 0, QStringLiteral("n") });
    const OrRecord ten = orRecord(QCborValue(2), Timestamp { 10, 0, QStringLiteral("n") });
    QCOMPARE(OrMapMerkleTree::entryHash(u"k", { nine, ten }),
        hash(QStringLiteral("key:k|10:0:n:2:10:0:n|9:0:n:1:9:0:n")));
}

void tst_OrMap::addThenGet()
{
    OrMap map(*m_hlc);
    map.add(QStringLiteral("tags"), QCborValue(QStringLiteral("red")));
    map.add(QStringLiteral("tags"), QCborValue(QStringLiteral("blue")));
    map.add(QStringLiteral("tags"), QCborValue(QStringLiteral("red")));
    QCOMPARE(map.get(QStringLiteral("tags")).size(), 3);
    QCOMPARE(map.totalRecords(), 3);
    QCOMPARE(map.size(), 1);
    QCOMPARE(map.get(QStringLiteral("other")), QList<QCborValue>());
}

void tst_OrMap::addUsesTimestampAsTag()
{
    OrMap map(*m_hlc);
    const OrRecord first = map.add(QStringLiteral("k"), QCborValue(1));
    const OrRecord second = map.add(QStringLiteral("k"), QCborValue(1));
    QCOMPARE(first.tag, QStringLiteral("1700000000000:0:n1"));
    QCOMPARE(second.tag, QStringLiteral("1700000000000:1:n1"));
    QCOMPARE(first.timestamp, (Timestamp { 1700000000000, 0, QStringLiteral("n1") }));
}

void tst_OrMap::removeTombstonesObservedTags()
{
    OrMap map(*m_hlc);
    const OrRecord red1 = map.add(QStringLiteral("k"), QCborValue(QStringLiteral("red")));
    const OrRecord blue = map.add(QStringLiteral("k"), QCborValue(QStringLiteral("blue")));
    const OrRecord red2 = map.add(QStringLiteral("k"), QCborValue(QStringLiteral("red")));

    const QStringList removed = map.remove(QStringLiteral("k"), QCborValue(QStringLiteral("red")));
    QCOMPARE(
        QSet<QString>(removed.cbegin(), removed.cend()), (QSet<QString> { red1.tag, red2.tag }));
    QCOMPARE(
        map.get(QStringLiteral("k")), QList<QCborValue> { QCborValue(QStringLiteral("blue")) });
    QVERIFY(map.isTombstoned(red1.tag));
    QVERIFY(map.isTombstoned(red2.tag));
    QVERIFY(!map.isTombstoned(blue.tag));
    QCOMPARE(map.remove(QStringLiteral("k"), QCborValue(QStringLiteral("green"))), QStringList());
    QCOMPARE(map.remove(QStringLiteral("absent"), QCborValue(1)), QStringList());

    map.remove(QStringLiteral("k"), QCborValue(QStringLiteral("blue")));
    QCOMPARE(map.size(), 0);
    QCOMPARE(map.merkleTree().rootHash(), 0u);
    QCOMPARE(map.tombstones().size(), 3);
}

void tst_OrMap::removeComparesNumbersByValue()
{
    OrMap map(*m_hlc);
    map.add(QStringLiteral("k"), QCborValue(5));
    map.add(QStringLiteral("k"), QCborValue(object({ { "a", 1 } })));
    QCOMPARE(map.remove(QStringLiteral("k"), QCborValue(5.0)).size(), 1);
    QCOMPARE(map.remove(QStringLiteral("k"), QCborValue(object({ { "a", 1 } }))).size(), 1);
    QCOMPARE(map.size(), 0);
}

void tst_OrMap::concurrentAddWins()
{
    Replica a(QStringLiteral("a"), &m_wall);
    Replica b(QStringLiteral("b"), &m_wall);
    a.map.add(QStringLiteral("k"), QCborValue(QStringLiteral("x")));
    b.map.merge(a.map);

    // b removes the x it observed while a concurrently adds x again.
    b.map.remove(QStringLiteral("k"), QCborValue(QStringLiteral("x")));
    ++m_wall;
    const OrRecord again = a.map.add(QStringLiteral("k"), QCborValue(QStringLiteral("x")));

    a.map.merge(b.map);
    b.map.merge(a.map);
    QCOMPARE(a.map.get(QStringLiteral("k")), QList<QCborValue> { QCborValue(QStringLiteral("x")) });
    QCOMPARE(a.map.records(QStringLiteral("k")), QList<OrRecord> { again });
    QCOMPARE(stateOf(a.map), stateOf(b.map));
}

void tst_OrMap::applyIgnoresTombstonedTag()
{
    OrMap map(*m_hlc);
    const OrRecord remote
        = orRecord(QCborValue(1), Timestamp { 1700000000000, 4, QStringLiteral("c") });
    map.applyTombstone(remote.tag);
    QVERIFY(!map.apply(QStringLiteral("k"), remote));
    QCOMPARE(map.get(QStringLiteral("k")), QList<QCborValue>());

    const OrRecord other
        = orRecord(QCborValue(2), Timestamp { 1700000000000, 5, QStringLiteral("c") });
    QVERIFY(map.apply(QStringLiteral("k"), other));
    QCOMPARE(map.get(QStringLiteral("k")), QList<QCborValue> { QCborValue(2) });
    // apply() advances the clock past the record.
    QCOMPARE(m_hlc->lastTimestamp(), (Timestamp { 1700000000000, 6, QStringLiteral("n1") }));
}

void tst_OrMap::applyTombstoneDropsRecord()
{
    OrMap map(*m_hlc);
    const OrRecord added = map.add(QStringLiteral("k"), QCborValue(1));
    map.add(QStringLiteral("j"), QCborValue(2));
    QVERIFY(map.applyTombstone(added.tag));
    QVERIFY(!map.applyTombstone(added.tag));
    QCOMPARE(map.get(QStringLiteral("k")), QList<QCborValue>());
    QVERIFY(!map.keys().contains(QStringLiteral("k")));
    QCOMPARE(map.merkleTree().rootHash(),
        OrMapMerkleTree::entryHash(u"j", map.records(QStringLiteral("j"))));
}

void tst_OrMap::ttlHidesExpiredRecords()
{
    OrMap map(*m_hlc);
    const qint64 start = m_wall;
    map.add(QStringLiteral("k"), QCborValue(1), 1000);
    map.add(QStringLiteral("k"), QCborValue(2));
    m_wall = start + 1000;
    QCOMPARE(map.get(QStringLiteral("k")).size(), 2);
    m_wall = start + 1001;
    QCOMPARE(map.get(QStringLiteral("k")), QList<QCborValue> { QCborValue(2) });
    QCOMPARE(map.getRecords(QStringLiteral("k")).size(), 1);
    // Expired records still count for sync and hashing.
    QCOMPARE(map.records(QStringLiteral("k")).size(), 2);
    QCOMPARE(map.merkleTree().rootHash(),
        OrMapMerkleTree::entryHash(u"k", map.records(QStringLiteral("k"))));
}

void tst_OrMap::pruneDropsOldTombstones()
{
    OrMap map(*m_hlc);
    map.applyTombstone(QStringLiteral("100:0:a"));
    map.applyTombstone(QStringLiteral("200:0:a"));
    map.applyTombstone(QStringLiteral("300:0:a"));
    map.applyTombstone(QStringLiteral("not-a-timestamp"));
    const QStringList pruned = map.prune(Timestamp { 200, 0, QStringLiteral("b") });
    QCOMPARE(pruned, (QStringList { QStringLiteral("100:0:a"), QStringLiteral("200:0:a") }));
    QCOMPARE(map.tombstones(),
        (QStringList { QStringLiteral("300:0:a"), QStringLiteral("not-a-timestamp") }));
}

void tst_OrMap::expireTombstonesExpiredTags()
{
    OrMap map(*m_hlc);
    const qint64 start = m_wall;
    const OrRecord shortLived = map.add(QStringLiteral("k"), QCborValue(1), 1000);
    const OrRecord kept = map.add(QStringLiteral("k"), QCborValue(2));
    const OrRecord alone = map.add(QStringLiteral("j"), QCborValue(3), 500);
    map.add(QStringLiteral("z"), QCborValue(4), 0);
    QStringList changedKeys;
    map.setChangeListener([&changedKeys](const QString &key) { changedKeys.append(key); });

    m_wall = start + 1000;
    const QList<OrMap::Expiry> first = map.expire(m_wall);
    QCOMPARE(first.size(), 1);
    QCOMPARE(first.first().key, QStringLiteral("j"));
    QCOMPARE(first.first().tag, alone.tag);
    m_wall = start + 1001;
    const QList<OrMap::Expiry> second = map.expire(m_wall);
    QCOMPARE(second.size(), 1);
    QCOMPARE(second.first().key, QStringLiteral("k"));
    QCOMPARE(second.first().tag, shortLived.tag);
    QVERIFY(map.expire(m_wall).isEmpty());
    QCOMPARE(changedKeys, (QStringList { QStringLiteral("j"), QStringLiteral("k") }));

    QVERIFY(map.isTombstoned(shortLived.tag));
    QVERIFY(map.isTombstoned(alone.tag));
    QCOMPARE(map.records(QStringLiteral("k")), QList<OrRecord> { kept });
    QVERIFY(!map.keys().contains(QStringLiteral("j")));
    QCOMPARE(map.get(QStringLiteral("z")), QList<QCborValue> { QCborValue(4) });
    // A replica still holding the expired record cannot bring it back.
    QVERIFY(!map.apply(QStringLiteral("k"), shortLived));
    QCOMPARE(map.merkleTree().rootHash(),
        OrMapMerkleTree::entryHash(u"k", map.records(QStringLiteral("k")))
            + OrMapMerkleTree::entryHash(u"z", map.records(QStringLiteral("z"))));

    // The tombstones age by their tag, the record's own timestamp.
    QCOMPARE(map.prune(Timestamp { start, 1, QString() }), QStringList { shortLived.tag });
    QCOMPARE(map.prune(Timestamp { start + 1, 0, QString() }), QStringList { alone.tag });
    QVERIFY(map.tombstones().isEmpty());
}

void tst_OrMap::mergeKeyAppliesRecordsAndTombstones()
{
    OrMap map(*m_hlc);
    const OrRecord local = map.add(QStringLiteral("k"), QCborValue(1));
    const OrRecord remote
        = orRecord(QCborValue(2), Timestamp { 1700000000005, 0, QStringLiteral("c") });
    const OrRecord dead
        = orRecord(QCborValue(3), Timestamp { 1700000000006, 0, QStringLiteral("c") });

    const OrMap::MergeResult result
        = map.mergeKey(QStringLiteral("k"), { remote, dead }, { local.tag, dead.tag });
    QCOMPARE(result.added, 1);
    QCOMPARE(result.removed, 1);
    QCOMPARE(result.updated, 0);
    QCOMPARE(map.records(QStringLiteral("k")), QList<OrRecord> { remote });
    QVERIFY(map.isTombstoned(dead.tag));

    // Same tag, newer timestamp: replaced; same again: nothing changes.
    OrRecord newer = remote;
    newer.timestamp.counter = 1;
    newer.value = QCborValue(9);
    QCOMPARE(map.mergeKey(QStringLiteral("k"), { newer }).updated, 1);
    QVERIFY(!map.mergeKey(QStringLiteral("k"), { newer }).changed());
    QVERIFY(!map.mergeKey(QStringLiteral("k"), { remote }).changed());
    QCOMPARE(map.get(QStringLiteral("k")), QList<QCborValue> { QCborValue(9) });
}

void tst_OrMap::merkleTracksEveryChange()
{
    OrMap map(*m_hlc);
    QRandomGenerator random(8);
    QList<OrRecord> added;
    for (int i = 0; i < 1500; ++i) {
        const QString key = QStringLiteral("k%1").arg(random.bounded(100));
        switch (random.bounded(4)) {
        case 0:
        case 1:
            added.append(map.add(key, QCborValue(qint64(random.bounded(5)))));
            break;
        case 2:
            map.remove(key, QCborValue(qint64(random.bounded(5))));
            break;
        default:
            if (!added.isEmpty())
                map.applyTombstone(added[random.bounded(added.size())].tag);
            break;
        }
        ++m_wall;
    }
    OrMapMerkleTree rebuilt;
    for (const QString &key : map.keys())
        rebuilt.update(key, map.records(key));
    QCOMPARE(map.merkleTree().rootHash(), rebuilt.rootHash());
    QCOMPARE(map.merkleTree().size(), map.size());
}

void tst_OrMap::mergeIsCommutativeAssociativeIdempotent_data()
{
    QTest::addColumn<quint32>("seed");
    for (quint32 seed : { 1u, 2u, 3u, 42u, 1000u, 65535u })
        QTest::newRow(qPrintable(QStringLiteral("seed %1").arg(seed))) << seed;
}

void tst_OrMap::mergeIsCommutativeAssociativeIdempotent()
{
    QFETCH(quint32, seed);
    QRandomGenerator random(seed);

    // Three replicas run random operations, syncing now and then.
    std::vector<std::unique_ptr<Replica>> replicas;
    for (const char *id : { "a", "B", "a_b" })
        replicas.push_back(std::make_unique<Replica>(QString::fromLatin1(id), &m_wall));
    const QStringList keys { "k1", "k2", "k3", "k4" };
    for (int op = 0; op < 300; ++op) {
        OrMap &map = replicas[random.bounded(3)]->map;
        const QString key = keys[random.bounded(keys.size())];
        const QCborValue value(qint64(random.bounded(4)));
        switch (random.bounded(10)) {
        case 0:
            map.merge(replicas[random.bounded(3)]->map);
            break;
        case 1:
        case 2:
        case 3:
            map.remove(key, value);
            break;
        default:
            map.add(
                key, value, random.bounded(4) == 0 ? std::optional<qint64>(5000) : std::nullopt);
            break;
        }
        m_wall += random.bounded(2);
    }

    // Each union is computed in a fresh map so inputs stay untouched.
    auto unionOf = [this](std::initializer_list<const OrMap *> maps) {
        auto result = std::make_unique<Replica>(QStringLiteral("u"), &m_wall);
        for (const OrMap *map : maps)
            result->map.merge(*map);
        return result;
    };
    const OrMap &a = replicas[0]->map;
    const OrMap &b = replicas[1]->map;
    const OrMap &c = replicas[2]->map;

    QCOMPARE(stateOf(unionOf({ &a, &b })->map), stateOf(unionOf({ &b, &a })->map));

    const auto ab = unionOf({ &a, &b });
    const auto bc = unionOf({ &b, &c });
    QCOMPARE(stateOf(unionOf({ &ab->map, &c })->map), stateOf(unionOf({ &a, &bc->map })->map));

    const auto copyOfA = unionOf({ &a });
    QCOMPARE(stateOf(copyOfA->map), stateOf(a));
    const OrMap::MergeResult again = copyOfA->map.merge(a);
    QVERIFY(!again.changed());
    QCOMPARE(stateOf(copyOfA->map), stateOf(a));

    // Merging in place converges all three replicas.
    replicas[0]->map.merge(b);
    replicas[0]->map.merge(c);
    replicas[1]->map.merge(replicas[0]->map);
    replicas[2]->map.merge(replicas[0]->map);
    QCOMPARE(stateOf(replicas[1]->map), stateOf(replicas[0]->map));
    QCOMPARE(stateOf(replicas[2]->map), stateOf(replicas[0]->map));
    // The property is not vacuous: something survived and something was removed.
    QVERIFY(replicas[0]->map.totalRecords() > 0);
    QVERIFY(!replicas[0]->map.tombstones().isEmpty());
}

void tst_OrMap::listenerSeesChangedKeys()
{
    OrMap map(*m_hlc);
    QStringList seen;
    map.setChangeListener([&seen](const QString &key) { seen.append(key); });
    const OrRecord added = map.add(QStringLiteral("a"), QCborValue(1));
    map.remove(QStringLiteral("a"), QCborValue(1));
    map.remove(QStringLiteral("a"), QCborValue(1)); // nothing left: no change
    QVERIFY(!map.apply(QStringLiteral("a"), added)); // tombstoned: no change
    map.apply(
        QStringLiteral("b"), orRecord(QCborValue(2), Timestamp { 5, 0, QStringLiteral("c") }));
    QCOMPARE(seen, (QStringList { QStringLiteral("a"), QStringLiteral("a"), QStringLiteral("b") }));
}

QTEST_APPLESS_MAIN(tst_OrMap)
#include "tst_ormap.moc"

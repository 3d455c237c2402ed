#include "crdt/Hash.h"
#include "crdt/MerkleTree.h"

#include <QRandomGenerator>
#include <QTest>

#include <algorithm>
#include <random>
#include <vector>

using namespace wingman::crdt;

namespace {

struct Item {
    QString key;
    quint32 itemHash;
};

std::vector<Item> randomItems(int count, quint32 seed)
{
    QRandomGenerator random(seed);
    std::vector<Item> items;
    for (int i = 0; i < count; ++i)
        items.push_back({ QStringLiteral("key-%1").arg(i), random.generate() });
    return items;
}

// Every node's hash equals the sum of its children's, down to the leaves' entries.
void verifySums(const MerkleTree &tree, const QString &path = {})
{
    const auto nodeHash = tree.nodeHash(path);
    QVERIFY(nodeHash);
    quint32 sum = 0;
    if (path.size() == MerkleTree::kDepth) {
        const auto entries = tree.entryHashes(path);
        for (const quint32 entry : entries)
            sum += entry;
    } else {
        const auto buckets = tree.buckets(path);
        for (auto it = buckets.cbegin(); it != buckets.cend(); ++it) {
            sum += it.value();
            verifySums(tree, path + it.key());
            if (QTest::currentTestFailed())
                return;
        }
    }
    QCOMPARE(sum, *nodeHash);
}

} // namespace

class tst_MerkleTree : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void coreVectors_data();
    void coreVectors();
    void coreVectorBuckets();
    void itemHashFormula();
    void rootIndependentOfInsertionOrder();
    void updateReplacesEntry();
    void removeKeepsEmptiedNodes();
    void replacedThenRemovedEntryLeavesNoTrace();
    void removeAbsentKeyCreatesNothing();
    void sumsHoldAtEveryLevel();
    void malformedPaths_data();
    void malformedPaths();
    void keysInBucketSorted();
    void crowdedLeafSurvivesChurn();
    void reservedLeavesStillGrow();
    void clearResets();
    void moveKeepsContents();
};

void tst_MerkleTree::coreVectors_data()
{
    QTest::addColumn<int>("count");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("timestamp");
    QTest::addColumn<quint32>("itemHash");
    QTest::addColumn<quint32>("rootAfter");

    // docs/core.md "LWW Merkle tree, inserting in order": row n inserts the first n keys.
    QTest::newRow("key1") << 1 << "key1"
                          << "1700000000000:0:node-a" << 356983709u << 356983709u;
    QTest::newRow("key2") << 2 << "key2"
                          << "1700000000001:3:node-b" << 252118577u << 609102286u;
    QTest::newRow("key3") << 3 << "key3"
                          << "1700000000002:0:client-x" << 1603571649u << 2212673935u;
}

void tst_MerkleTree::coreVectors()
{
    QFETCH(int, count);
    QFETCH(QString, key);
    QFETCH(QString, timestamp);
    QFETCH(quint32, itemHash);
    QFETCH(quint32, rootAfter);

    const auto ts = Timestamp::fromString(timestamp);
    QVERIFY(ts);
    QCOMPARE(MerkleTree::itemHash(key, *ts), itemHash);

    const QList<std::pair<QString, QString>> inserts = {
        { "key1", "1700000000000:0:node-a" },
        { "key2", "1700000000001:3:node-b" },
        { "key3", "1700000000002:0:client-x" },
    };
    MerkleTree tree;
    for (int i = 0; i < count; ++i)
        tree.update(inserts[i].first,
            MerkleTree::itemHash(inserts[i].first, *Timestamp::fromString(inserts[i].second)));
    QCOMPARE(tree.rootHash(), rootAfter);
    QCOMPARE(tree.size(), qsizetype(count));
    QCOMPARE(tree.entryHash(key), std::optional<quint32>(itemHash));
}

void tst_MerkleTree::coreVectorBuckets()
{
    MerkleTree tree;
    tree.update(QStringLiteral("key1"), 356983709u);
    tree.update(QStringLiteral("key2"), 252118577u);
    tree.update(QStringLiteral("key3"), 1603571649u);

    const QMap<QString, quint32> root { { QStringLiteral("3"), 2212673935u } };
    QCOMPARE(tree.buckets(QString()), root);
    // Paths 374..., 384..., 394...
    const QMap<QString, quint32> level1 { { QStringLiteral("7"), 356983709u },
        { QStringLiteral("8"), 252118577u }, { QStringLiteral("9"), 1603571649u } };
    QCOMPARE(tree.buckets(u"3"), level1);
    QCOMPARE(tree.buckets(u"37"), (QMap<QString, quint32> { { QStringLiteral("4"), 356983709u } }));
    QCOMPARE(tree.buckets(u"374"), (QMap<QString, quint32>()));
    QCOMPARE(tree.keysInBucket(u"374"), QStringList { QStringLiteral("key1") });
    QCOMPARE(tree.keysInBucket(u"394"), QStringList { QStringLiteral("key3") });
    QCOMPARE(tree.keysInBucket(u"37"), QStringList());
    QCOMPARE(tree.nodeHash(u""), std::optional<quint32>(2212673935u));
    QCOMPARE(tree.nodeHash(u"384"), std::optional<quint32>(252118577u));
    QCOMPARE(tree.nodeHash(u"4"), std::nullopt);
}

void tst_MerkleTree::itemHashFormula()
{
    const Timestamp ts { 1700000000123, 42, QString::fromUtf8("nöde") };
    const QString key = QString::fromUtf8("user:日本");
    QCOMPARE(MerkleTree::itemHash(key, ts),
        hash(key + u':' + QString::number(ts.millis) + u':' + QString::number(ts.counter) + u':'
            + ts.nodeId));
}

void tst_MerkleTree::rootIndependentOfInsertionOrder()
{
    auto items = randomItems(3000, 7);
    MerkleTree forward;
    for (const Item &item : items)
        forward.update(item.key, item.itemHash);

    std::shuffle(items.begin(), items.end(), std::mt19937(11));
    MerkleTree shuffled;
    for (const Item &item : items)
        shuffled.update(item.key, item.itemHash);

    QCOMPARE(shuffled.rootHash(), forward.rootHash());
    QCOMPARE(shuffled.buckets(u""), forward.buckets(u""));
    for (int digit = 0; digit < 16; ++digit) {
        const QString path = QString::number(digit, 16);
        QCOMPARE(shuffled.buckets(path), forward.buckets(path));
    }
    quint32 sum = 0;
    for (const Item &item : items)
        sum += item.itemHash;
    QCOMPARE(forward.rootHash(), sum);
}

void tst_MerkleTree::updateReplacesEntry()
{
    MerkleTree tree;
    tree.update(QStringLiteral("a"), 10);
    tree.update(QStringLiteral("b"), 20);
    tree.update(QStringLiteral("a"), 5);
    QCOMPARE(tree.rootHash(), 25u);
    QCOMPARE(tree.size(), 2);
    // Sums wrap mod 2^32.
    tree.update(QStringLiteral("c"), 0xffffffffu);
    QCOMPARE(tree.rootHash(), 24u);
}

void tst_MerkleTree::removeKeepsEmptiedNodes()
{
    MerkleTree tree;
    tree.update(QStringLiteral("key1"), 356983709u);
    tree.update(QStringLiteral("key2"), 252118577u);
    QVERIFY(tree.remove(QStringLiteral("key1")));

    QCOMPARE(tree.rootHash(), 252118577u);
    QCOMPARE(tree.size(), 1);
    const QMap<QString, quint32> level1 { { QStringLiteral("7"), 0u },
        { QStringLiteral("8"), 252118577u } };
    QCOMPARE(tree.buckets(u"3"), level1);
    QCOMPARE(tree.nodeHash(u"374"), std::optional<quint32>(0u));
    QCOMPARE(tree.keysInBucket(u"374"), QStringList());
    QCOMPARE(tree.entryHash(QStringLiteral("key1")), std::nullopt);

    QVERIFY(tree.remove(QStringLiteral("key2")));
    QCOMPARE(tree.rootHash(), 0u);
    QCOMPARE(tree.buckets(u""), (QMap<QString, quint32> { { QStringLiteral("3"), 0u } }));
}

void tst_MerkleTree::replacedThenRemovedEntryLeavesNoTrace()
{
    // What a GC does to a TTL record: its entry is replaced (the expiry tombstone), then removed
    // (the prune). Every node's hash is then what it was without the key.
    MerkleTree tree;
    tree.update(QStringLiteral("key1"), 356983709u);
    tree.update(QStringLiteral("key3"), 1603571649u);
    const QString paths[] = { QString(), QStringLiteral("3"), QStringLiteral("37"),
        QStringLiteral("38"), QStringLiteral("39"), QStringLiteral("374"), QStringLiteral("384"),
        QStringLiteral("394") };
    QList<std::optional<quint32>> before;
    for (const QString &path : paths)
        before.append(tree.nodeHash(path));

    tree.update(QStringLiteral("key2"), 252118577u);
    tree.update(QStringLiteral("key2"),
        MerkleTree::itemHash(u"key2", Timestamp { 1700000000501, 0, QStringLiteral("server") }));
    QVERIFY(tree.remove(QStringLiteral("key2")));

    QCOMPARE(tree.rootHash(), 356983709u + 1603571649u);
    QCOMPARE(tree.size(), 2);
    for (int i = 0; i < int(std::size(paths)); ++i) {
        if (paths[i] == u"38" || paths[i] == u"384")
            QCOMPARE(tree.nodeHash(paths[i]), std::optional<quint32>(0u));
        else
            QCOMPARE(tree.nodeHash(paths[i]), before.at(i));
    }
    verifySums(tree);
}

void tst_MerkleTree::removeAbsentKeyCreatesNothing()
{
    MerkleTree tree;
    QVERIFY(!tree.remove(QStringLiteral("key1")));
    QCOMPARE(tree.buckets(u""), (QMap<QString, quint32>()));
    tree.update(QStringLiteral("key2"), 1);
    QVERIFY(!tree.remove(QStringLiteral("key1"))); // same level-1 bucket "3", other leaf
    QCOMPARE(tree.nodeHash(u"374"), std::nullopt);
    QCOMPARE(tree.rootHash(), 1u);
}

void tst_MerkleTree::sumsHoldAtEveryLevel()
{
    const auto items = randomItems(5000, 3);
    MerkleTree tree;
    for (const Item &item : items)
        tree.update(item.key, item.itemHash);
    for (size_t i = 0; i < items.size(); i += 3)
        tree.remove(items[i].key);
    for (size_t i = 1; i < items.size(); i += 5)
        tree.update(items[i].key, items[i].itemHash * 3);
    verifySums(tree);
}

void tst_MerkleTree::malformedPaths_data()
{
    QTest::addColumn<QString>("path");
    QTest::newRow("control: well-formed") << "3";
    QTest::newRow("non-hex") << "g";
    QTest::newRow("too deep") << "3740";
    QTest::newRow("upper case hex") << "A";
    QTest::newRow("unicode") << QString::fromUtf8("３");
}

void tst_MerkleTree::malformedPaths()
{
    QFETCH(QString, path);
    MerkleTree tree;
    tree.update(QStringLiteral("key1"), 1); // path 374a6a67
    tree.update(QStringLiteral("x"), 2);
    if (path == QLatin1StringView("3")) {
        // The one well-formed row: proves the others fail for their path, not for want of data.
        QVERIFY(!tree.buckets(path).isEmpty());
        return;
    }
    QCOMPARE(tree.buckets(path), (QMap<QString, quint32>()));
    QCOMPARE(tree.keysInBucket(path), QStringList());
    QCOMPARE(tree.nodeHash(path), std::nullopt);
}

void tst_MerkleTree::keysInBucketSorted()
{
    MerkleTree tree;
    QStringList sameLeaf;
    for (int i = 0; sameLeaf.size() < 5 && i < 200000; ++i) {
        const QString key = QStringLiteral("k%1").arg(i);
        if (Hash::toHex(hash(key)).startsWith(QLatin1StringView("abc")))
            sameLeaf.append(key);
    }
    QCOMPARE(sameLeaf.size(), 5);
    for (auto it = sameLeaf.crbegin(); it != sameLeaf.crend(); ++it)
        tree.update(*it, 1);
    QStringList expected = sameLeaf;
    std::sort(expected.begin(), expected.end());
    QCOMPARE(tree.keysInBucket(u"abc"), expected);
    QCOMPARE(tree.entryHashes(u"abc").size(), 5);
}

void tst_MerkleTree::crowdedLeafSurvivesChurn()
{
    // Hundreds of keys in one leaf: table growth, probing and removal all get exercised.
    QStringList keys;
    for (int i = 0; keys.size() < 400; ++i) {
        const QString key = u'c' + QString::number(i);
        if ((hash(key) >> 20) == 0x5a7)
            keys.append(key);
    }
    MerkleTree tree;
    QHash<QString, quint32> model;
    QRandomGenerator random(77);
    for (int round = 0; round < 20000; ++round) {
        const QString &key = keys[random.bounded(keys.size())];
        if (random.bounded(3) == 0) {
            QCOMPARE(tree.remove(key), model.remove(key) > 0);
        } else {
            const quint32 itemHash = random.generate();
            tree.update(key, itemHash);
            model.insert(key, itemHash);
        }
    }
    QCOMPARE(tree.entryHashes(u"5a7"), model);
    QCOMPARE(tree.size(), model.size());
    for (const QString &key : keys)
        QCOMPARE(tree.entryHash(key),
            model.contains(key) ? std::optional(model.value(key)) : std::nullopt);
    verifySums(tree);
}

void tst_MerkleTree::reservedLeavesStillGrow()
{
    // reserve() sizes a leaf for exactly the keys announced; a leaf reserved for one or two keys
    // must still grow when more arrive later (a node's writes after a restart).
    QStringList keys;
    for (int i = 0; keys.size() < 50; ++i) {
        const QString key = u'r' + QString::number(i);
        if ((hash(key) >> 20) == 0x123)
            keys.append(key);
    }
    for (const qsizetype announced : { 1, 2, 3, 7 }) {
        MerkleTree tree;
        std::vector<quint32> hashes;
        for (qsizetype i = 0; i < announced; ++i)
            hashes.push_back(hash(keys[i]));
        tree.reserve(hashes);
        QHash<QString, quint32> model;
        for (const QString &key : std::as_const(keys)) {
            tree.update(key, quint32(key.size()));
            model.insert(key, quint32(key.size()));
        }
        QCOMPARE(tree.entryHashes(u"123"), model);
        verifySums(tree);
    }
}

void tst_MerkleTree::clearResets()
{
    MerkleTree tree;
    tree.update(QStringLiteral("key1"), 5);
    tree.clear();
    QCOMPARE(tree.rootHash(), 0u);
    QCOMPARE(tree.size(), 0);
    QCOMPARE(tree.buckets(u""), (QMap<QString, quint32>()));
    tree.update(QStringLiteral("key1"), 5);
    QCOMPARE(tree.rootHash(), 5u);
}

void tst_MerkleTree::moveKeepsContents()
{
    MerkleTree tree;
    tree.update(QStringLiteral("key1"), 356983709u);
    MerkleTree moved(std::move(tree));
    QCOMPARE(moved.rootHash(), 356983709u);
    QCOMPARE(moved.keysInBucket(u"374"), QStringList { QStringLiteral("key1") });
}

QTEST_APPLESS_MAIN(tst_MerkleTree)
#include "tst_merkletree.moc"

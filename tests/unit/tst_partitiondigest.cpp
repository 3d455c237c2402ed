#include "cluster/PartitionDigest.h"
#include "cluster/PartitionTable.h"
#include "crdt/Hash.h"
#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"

#include <QElapsedTimer>
#include <QTest>

using namespace wingman;
using namespace wingman::cluster;

namespace {

qint64 g_wall = 1700000000000;

crdt::Timestamp stamp(qint64 millis, const char *node = "n1")
{
    return { millis, 0, QString::fromLatin1(node) };
}

} // namespace

class tst_PartitionDigest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void partitionsFollowTheTable()
    {
        for (const QString &key : { QStringLiteral("a"), QStringLiteral("key1"),
                 QStringLiteral("user:42"), QStringLiteral("日本") }) {
            const quint32 keyHash = crdt::hash(key);
            QCOMPARE(PartitionDigest::partitionOf(keyHash), PartitionTable::partitionOf(key));
            // The leaf is the key's first two hex chars, the Merkle tree's level-2 node.
            QCOMPARE(PartitionDigest::leafOf(keyHash),
                crdt::Hash::toHex(keyHash).left(2).toInt(nullptr, 16));
        }
    }

    void sumsAddUpToTheRootAndMatchARecomputation()
    {
        crdt::Hlc hlc(QStringLiteral("n1"), [] { return g_wall; });
        crdt::LwwMap map(hlc);
        PartitionDigest incremental;
        // The map's change listener keeps a digest current, as the server's digests are.
        QHash<QString, quint32> held;
        map.setChangeListener([&](const QString &key, const crdt::LwwRecord &record) {
            if (held.contains(key))
                incremental.remove(key, held.value(key));
            const quint32 itemHash = crdt::MerkleTree::itemHash(key, record.timestamp);
            incremental.add(key, itemHash);
            held.insert(key, itemHash);
        });
        for (int i = 0; i < 2000; ++i)
            map.set(QStringLiteral("key-%1").arg(i), crdt::Value(QCborValue(i)));
        for (int i = 0; i < 500; ++i)
            map.remove(QStringLiteral("key-%1").arg(i * 3));
        QCOMPARE(incremental.root(), map.merkleTree().rootHash());
        QCOMPARE(incremental.count(), map.size());
        QVERIFY(incremental == PartitionDigest::ofTree(map.merkleTree()));

        // Prune drops tombstones without the listener: the digest loses their item hashes.
        ++g_wall;
        for (const QString &key : map.prune(hlc.now())) {
            incremental.remove(key, held.value(key));
            held.remove(key);
        }
        QCOMPARE(map.size(), 1500);
        QVERIFY(incremental == PartitionDigest::ofTree(map.merkleTree()));
        QCOMPARE(incremental.root(), map.merkleTree().rootHash());

        quint32 sum = 0;
        for (int p = 0; p < PartitionDigest::kPartitions; ++p) {
            quint32 leaves = 0;
            for (const quint32 leaf : incremental.leafSums(p))
                leaves += leaf;
            QCOMPARE(leaves, incremental.partitionSum(p));
            sum += incremental.partitionSum(p);
        }
        QCOMPARE(sum, map.merkleTree().rootHash());
    }

    void orMapDigestUsesEntryHashes()
    {
        crdt::Hlc hlc(QStringLiteral("n1"), [] { return g_wall; });
        crdt::OrMap map(hlc);
        for (int i = 0; i < 300; ++i)
            map.add(QStringLiteral("k%1").arg(i % 100), QCborValue(i));
        map.remove(QStringLiteral("k7"), QCborValue(7));
        const PartitionDigest digest = PartitionDigest::ofTree(map.merkleTree());
        QCOMPARE(digest.root(), map.merkleTree().rootHash());
        QCOMPARE(digest.count(), map.merkleTree().size());
    }

    void oneDifferingKeyShowsInOnePartitionAndOneLeaf()
    {
        crdt::Hlc hlc(QStringLiteral("n1"), [] { return g_wall; });
        crdt::LwwMap a(hlc);
        crdt::LwwMap b(hlc);
        for (int i = 0; i < 5000; ++i) {
            const QString key = QStringLiteral("key-%1").arg(i);
            const crdt::LwwRecord record { QCborValue(i), stamp(1000 + i), std::nullopt };
            a.merge(key, record);
            b.merge(key, record);
        }
        QVERIFY(PartitionDigest::ofTree(a.merkleTree()) == PartitionDigest::ofTree(b.merkleTree()));

        const QString key = QStringLiteral("key-1234");
        b.merge(key, { QCborValue(-1), stamp(999999, "n2"), std::nullopt });
        const PartitionDigest da = PartitionDigest::ofTree(a.merkleTree());
        const PartitionDigest db = PartitionDigest::ofTree(b.merkleTree());
        QList<int> partitions;
        for (int p = 0; p < PartitionDigest::kPartitions; ++p) {
            if (da.partitionSum(p) != db.partitionSum(p))
                partitions.append(p);
        }
        QCOMPARE(partitions, QList<int> { PartitionTable::partitionOf(key) });
        QList<int> leaves;
        for (int leaf = 0; leaf < PartitionDigest::kLeaves; ++leaf) {
            if (da.leafSum(partitions[0], leaf) != db.leafSum(partitions[0], leaf))
                leaves.append(leaf);
        }
        QCOMPARE(leaves, QList<int> { PartitionDigest::leafOf(crdt::hash(key)) });

        const int leafId = PartitionDigest::leafId(crdt::hash(key));
        const PartitionDigest::Entries entries
            = PartitionDigest::select(b.merkleTree(), {}, { leafId });
        QVERIFY(!entries.isEmpty());
        bool found = false;
        for (const auto &[entryKey, itemHash] : entries) {
            QCOMPARE(PartitionDigest::leafId(crdt::hash(entryKey)), leafId);
            if (entryKey == key) {
                found = true;
                QCOMPARE(itemHash, *b.merkleTree().entryHash(key));
            }
        }
        QVERIFY(found);
        const PartitionDigest::Entries whole
            = PartitionDigest::select(b.merkleTree(), { partitions[0] }, {});
        QCOMPARE(whole.size(), qsizetype(db.partitionCount(partitions[0])));
    }

    // A round on equal maps sends roots only (O(maps)); a walk builds digests from the trees.
    void digestCostOn100kKeys()
    {
        crdt::Hlc hlc(QStringLiteral("n1"), [] { return g_wall; });
        crdt::LwwMap map(hlc);
        for (int i = 0; i < 100000; ++i)
            map.merge(
                QStringLiteral("user:%1").arg(i), { QCborValue(i), stamp(1000 + i), std::nullopt });
        QElapsedTimer clock;
        clock.start();
        const PartitionDigest digest = PartitionDigest::ofTree(map.merkleTree());
        const qint64 digestMs = clock.elapsed();
        clock.restart();
        const PartitionDigest::Entries entries
            = PartitionDigest::select(map.merkleTree(), { 7 }, {});
        const qint64 selectMs = clock.elapsed();
        qInfo() << "digest of 100k keys:" << digestMs << "ms; selecting a partition:" << selectMs
                << "ms";
        QCOMPARE(digest.root(), map.merkleTree().rootHash());
        QCOMPARE(entries.size(), qsizetype(digest.partitionCount(7)));
    }
};

QTEST_GUILESS_MAIN(tst_PartitionDigest)
#include "tst_partitiondigest.moc"

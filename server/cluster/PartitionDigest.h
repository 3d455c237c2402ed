#pragma once

#include <QList>
#include <QPair>
#include <QSet>
#include <QString>
#include <QStringView>

#include <array>
#include <vector>

namespace wingman::crdt {
class MerkleTree;
}

namespace wingman::cluster {

// Anti-entropy's view of one map (docs/cluster.md §5): per partition (hash(key) mod 271) the sum
// of its keys' item hashes, and 256 leaf sums keyed by the first two hex chars of hash(key), all
// mod 2^32. The item hash is the one the map's client Merkle tree holds (LWW itemHash, OR entry
// hash), so the partition sums add up to the client Merkle root, which is the plain sum of every
// item hash. Pure: fed by add()/remove() or built from a tree in one pass (ofTree()).
class PartitionDigest
{
public:
    static constexpr int kPartitions = 271;
    static constexpr int kLeaves = 256;

    PartitionDigest();

    static int partitionOf(quint32 keyHash) { return int(keyHash % kPartitions); }
    static int leafOf(quint32 keyHash) { return int(keyHash >> 24); }

    void add(QStringView key, quint32 itemHash);
    void remove(QStringView key, quint32 itemHash);
    // Every entry of tree, hashing each key once; ~100k keys take a few ms.
    static PartitionDigest ofTree(const crdt::MerkleTree &tree);

    quint32 root() const;
    qsizetype count() const { return m_count; }
    quint32 partitionSum(int partition) const { return m_sums[size_t(partition)]; }
    int partitionCount(int partition) const { return m_counts[size_t(partition)]; }
    const std::array<quint32, kPartitions> &partitionSums() const { return m_sums; }
    quint32 leafSum(int partition, int leaf) const
    {
        return m_leaves[size_t(partition) * kLeaves + size_t(leaf)];
    }
    QList<quint32> leafSums(int partition) const;

    // [key, item hash] of tree's entries whose partition is in partitions or whose leaf id
    // (partition * kLeaves + leaf) is in leaves, in one pass over the tree.
    using Entries = QList<QPair<QString, quint32>>;
    static Entries select(
        const crdt::MerkleTree &tree, const QSet<int> &partitions, const QSet<int> &leaves);
    static int leafId(quint32 keyHash) { return partitionOf(keyHash) * kLeaves + leafOf(keyHash); }

    friend bool operator==(const PartitionDigest &a, const PartitionDigest &b)
    {
        return a.m_sums == b.m_sums && a.m_counts == b.m_counts && a.m_leaves == b.m_leaves;
    }

private:
    void apply(QStringView key, quint32 delta, int countDelta);

    std::array<quint32, kPartitions> m_sums {};
    std::array<int, kPartitions> m_counts {};
    std::vector<quint32> m_leaves; // kPartitions * kLeaves
    qsizetype m_count = 0;
};

} // namespace wingman::cluster

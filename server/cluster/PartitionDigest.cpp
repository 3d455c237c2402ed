#include "cluster/PartitionDigest.h"

#include "crdt/Hash.h"
#include "crdt/MerkleTree.h"

namespace wingman::cluster {

PartitionDigest::PartitionDigest()
    : m_leaves(size_t(kPartitions) * kLeaves, 0)
{ }

void PartitionDigest::apply(QStringView key, quint32 delta, int countDelta)
{
    const quint32 keyHash = crdt::hash(key);
    const int partition = partitionOf(keyHash);
    m_sums[size_t(partition)] += delta;
    m_counts[size_t(partition)] += countDelta;
    m_leaves[size_t(partition) * kLeaves + size_t(leafOf(keyHash))] += delta;
    m_count += countDelta;
}

void PartitionDigest::add(QStringView key, quint32 itemHash)
{
    apply(key, itemHash, 1);
}

void PartitionDigest::remove(QStringView key, quint32 itemHash)
{
    apply(key, 0u - itemHash, -1);
}

PartitionDigest PartitionDigest::ofTree(const crdt::MerkleTree &tree)
{
    PartitionDigest digest;
    tree.forEachEntry(
        [&digest](const QString &key, quint32 itemHash, quint32) { digest.add(key, itemHash); });
    return digest;
}

quint32 PartitionDigest::root() const
{
    quint32 sum = 0;
    for (const quint32 partition : m_sums)
        sum += partition;
    return sum;
}

QList<quint32> PartitionDigest::leafSums(int partition) const
{
    const auto first = m_leaves.begin() + qsizetype(partition) * kLeaves;
    return QList<quint32>(first, first + kLeaves);
}

PartitionDigest::Entries PartitionDigest::select(
    const crdt::MerkleTree &tree, const QSet<int> &partitions, const QSet<int> &leaves)
{
    Entries result;
    tree.forEachEntry([&](const QString &key, quint32 itemHash, quint32) {
        const quint32 keyHash = crdt::hash(key);
        if (partitions.contains(partitionOf(keyHash)) || leaves.contains(leafId(keyHash)))
            result.append({ key, itemHash });
    });
    return result;
}

} // namespace wingman::cluster

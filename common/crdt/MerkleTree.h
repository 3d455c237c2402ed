#pragma once

#include "crdt/Hash.h"
#include "crdt/Timestamp.h"

#include <QHash>
#include <QHashFunctions>
#include <QMap>
#include <QString>
#include <QStringList>
#include <array>
#include <bitset>
#include <memory>
#include <optional>
#include <vector>

namespace wingman::crdt {

// Depth-3 Merkle tree over key -> item hash with hex buckets (docs/core.md "LWW Merkle tree"), the
// structure TopGun's sync compares bucket by bucket. A key's path is the first three lower-case
// hex digits of hash(key). Node hashes are sums mod 2^32, kept incrementally: an update adds one
// difference to four counters. The 16 + 256 inner hashes are fixed arrays; the 4096 leaves come
// in groups of 16 allocated when first used, each leaf an open-addressing table of its entries.
// Tables are placed by a seeded hash, so keys crafted to collide under FNV-1a cannot degrade
// them. Nodes, once created, exist until clear() even when emptied (hash 0), as in TopGun.
//
// Every entry also carries a 32-bit value for its owner. A map whose keys are exactly the tree's
// keys (LwwMap) stores its record index there and uses the tree as its only key index, which
// saves a second table and a second key copy per record.
class MerkleTree
{
public:
    static constexpr int kDepth = 3;

    MerkleTree();
    ~MerkleTree();
    MerkleTree(MerkleTree &&) noexcept;
    MerkleTree &operator=(MerkleTree &&) noexcept;
    MerkleTree(const MerkleTree &) = delete;
    MerkleTree &operator=(const MerkleTree &) = delete;

    // Sets key's item hash (a new entry's value is 0). The overloads taking keyHash
    // (== hash(key)) spare a second hash pass.
    void update(const QString &key, quint32 itemHash) { update(key, hash(key), itemHash); }
    void update(const QString &key, quint32 keyHash, quint32 itemHash);
    // Sets key's item hash and value.
    void update(const QString &key, quint32 keyHash, quint32 itemHash, quint32 value);
    // Deletes key's entry; false if it had none (then no node is created).
    bool remove(const QString &key) { return remove(key, hash(key)); }
    bool remove(const QString &key, quint32 keyHash);

    quint32 rootHash() const { return m_rootHash; }
    // Hash of the node at path ("" is the root); nullopt if no such node exists.
    std::optional<quint32> nodeHash(QStringView path) const;
    // {child hex digit: child hash} of the inner node at path; empty for leaves and unknown paths.
    QMap<QString, quint32> buckets(QStringView path) const;
    // Keys of the leaf at path (three hex digits), sorted; empty for other paths.
    QStringList keysInBucket(QStringView path) const;
    // key -> item hash of the leaf at path.
    QHash<QString, quint32> entryHashes(QStringView path) const;
    std::optional<quint32> entryHash(const QString &key) const;
    // The value stored with key, or nullopt if key has no entry.
    std::optional<quint32> value(const QString &key, quint32 keyHash) const;

    qsizetype size() const { return m_size; }
    void clear();
    // Sizes the leaves for keys with these hashes, about to be added and not present yet, so that
    // adding them grows no leaf. Creates the groups they will be in (with hash 0 until then).
    void reserve(const std::vector<quint32> &keyHashes);

    // Calls function(const QString &key, quint32 itemHash, quint32 value) for every entry, leaf
    // by leaf in path order (in no particular order within a leaf). The tree must not change
    // meanwhile.
    template <typename Function> void forEachEntry(Function &&function) const;

    // LWW item hash: hash(key + ":" + millis + ":" + counter + ":" + nodeId).
    static quint32 itemHash(QStringView key, const Timestamp &timestamp)
    {
        return itemHash(key, timestamp.millis, timestamp.counter, timestamp.nodeId);
    }
    static quint32 itemHash(QStringView key, qint64 millis, qint32 counter, QStringView nodeId);

private:
    struct LeafEntry {
        QString key;
        quint32 tag = 0; // occupied bit | 31 bits of the seeded key hash; 0 marks a free slot
        quint32 itemHash = 0;
        quint32 value = 0;
    };
    // Linear probing without tombstones (removal shifts entries back).
    struct LeafTable {
        std::unique_ptr<LeafEntry[]> entries;
        quint32 capacity = 0;
        quint32 size = 0;
    };
    // The 16 leaves below one level-2 node.
    struct LeafGroup {
        std::array<quint32, 16> hashes {};
        std::array<LeafTable, 16> tables;
        quint16 exists = 0;
    };
    struct Nodes {
        std::array<quint32, 16> level1 {};
        std::array<quint32, 256> level2 {};
        std::bitset<16> level1Exists;
        std::array<std::unique_ptr<LeafGroup>, 256> groups; // non-null: level-2 node exists
    };

    // Level (0..3) and node index within that level, or nullopt for a malformed path.
    static std::optional<std::pair<int, quint32>> parsePath(QStringView path);
    bool exists(int level, quint32 index) const;
    const LeafTable *leafTable(quint32 leafIndex) const;
    const LeafEntry *find(const QString &key, quint32 keyHash) const;
    // Finds or inserts key's entry.
    LeafEntry &entryFor(const QString &key, quint32 keyHash);
    // The slot holding key, or the free slot where it belongs.
    static quint32 findSlot(const LeafTable &table, const QString &key, quint32 tag);
    static void grow(LeafTable &table);
    static void resize(LeafTable &table, quint32 capacity);
    static void eraseSlot(LeafTable &table, quint32 slot);
    void setItemHash(LeafEntry &entry, quint32 keyHash, quint32 itemHash);
    void addDelta(quint32 keyHash, quint32 delta);

    std::unique_ptr<Nodes> m_nodes;
    quint32 m_rootHash = 0;
    qsizetype m_size = 0;
};

template <typename Function> void MerkleTree::forEachEntry(Function &&function) const
{
    if (!m_nodes)
        return;
    for (const auto &group : m_nodes->groups) {
        if (!group)
            continue;
        for (const LeafTable &table : group->tables) {
            for (quint32 i = 0; i < table.capacity; ++i) {
                const LeafEntry &entry = table.entries[i];
                if (entry.tag != 0)
                    function(entry.key, entry.itemHash, entry.value);
            }
        }
    }
}

} // namespace wingman::crdt

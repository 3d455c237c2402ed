#pragma once

#include "crdt/Hlc.h"
#include "crdt/LwwRecord.h"
#include "crdt/MerkleTree.h"
#include "crdt/NodeIdPool.h"

#include <QCborValue>
#include <QString>
#include <QStringList>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

namespace wingman::crdt {

// Last-write-wins map (core.md "LWW map"): key -> LwwRecord, with its MerkleTree kept current on
// every change. Local writes are stamped by the node's Hlc, which many maps share and which must
// outlive the map; merge() feeds remote timestamps to it.
//
// Built for the server's hot path: records sit in fixed-size chunks (72 bytes each plus the key
// and value payload) behind an open-addressing index placed by a seeded hash, node ids are
// interned, and the Merkle leaf shares the stored key's buffer.
// Not thread-safe; do not modify the map from inside forEach().
class LwwMap
{
public:
    // Called after each record change: set(), remove() and accepted merges. prune() and clear()
    // do not call it: they drop tombstones and state that reads as absent anyway.
    using ChangeListener = std::function<void(const QString &key, const LwwRecord &record)>;

    explicit LwwMap(Hlc &hlc);
    ~LwwMap();
    LwwMap(LwwMap &&) noexcept;
    LwwMap &operator=(LwwMap &&) noexcept;
    LwwMap(const LwwMap &) = delete;
    LwwMap &operator=(const LwwMap &) = delete;

    // Stamps with hlc().now() and stores; returns the stored record.
    LwwRecord set(const QString &key, const QCborValue &value,
                  std::optional<qint64> ttlMs = std::nullopt);
    // Stores a tombstone stamped with hlc().now().
    LwwRecord remove(const QString &key);
    // Advances the clock past remote, then keeps remote iff there is no local record or remote's
    // timestamp is strictly greater. Returns whether remote was kept; a timestamp the clock
    // rejects (strict drift check) is never kept.
    bool merge(const QString &key, const LwwRecord &remote);

    // The value, unless absent, a tombstone, or past its TTL on hlc()'s clock.
    std::optional<QCborValue> get(const QString &key) const;
    // The stored record as is, tombstones and expired records included.
    std::optional<LwwRecord> getRecord(const QString &key) const;
    bool contains(const QString &key) const;

    // Deletes tombstones whose timestamp is below olderThan, from the map and the Merkle tree.
    QStringList prune(const Timestamp &olderThan);
    void clear();

    // Calls function(const QString &key, const LwwRecord &record) for every stored record,
    // tombstones included, in no particular order.
    template<typename Function>
    void forEach(Function &&function) const;
    QStringList keys() const;
    qsizetype size() const { return m_size; }
    bool isEmpty() const { return m_size == 0; }

    const MerkleTree &merkleTree() const { return m_tree; }
    Hlc &hlc() const { return *m_hlc; }
    void setChangeListener(ChangeListener listener) { m_listener = std::move(listener); }

private:
    static constexpr qint64 kNoTtl = std::numeric_limits<qint64>::min();
    static constexpr quint32 kFreeEntry = std::numeric_limits<quint32>::max();
    static constexpr quint32 kNotFound = std::numeric_limits<quint32>::max();
    static constexpr int kChunkBits = 6;
    static constexpr quint32 kChunkSize = 1u << kChunkBits;

    // A record without its own Timestamp: node ids are indexes into m_nodeIds.
    struct Entry {
        QString key;
        QCborValue value;
        qint64 millis = 0;
        qint64 ttlMs = kNoTtl;
        qint32 counter = 0;
        quint32 nodeId = kFreeEntry; // kFreeEntry marks an unused entry
    };

    // Where key is (entry != kNotFound), or the slot where it would be inserted.
    struct Probe {
        quint32 entry = kNotFound;
        size_t slot = 0;
    };

    Entry &entryAt(quint32 index) { return m_chunks[index >> kChunkBits][index & (kChunkSize - 1)]; }
    const Entry &entryAt(quint32 index) const
    {
        return m_chunks[index >> kChunkBits][index & (kChunkSize - 1)];
    }
    LwwRecord toRecord(const Entry &entry) const;
    const Entry *find(const QString &key) const;
    static size_t indexHash(const QString &key);
    Probe probe(const QString &key, size_t hash) const;
    size_t homeSlot(size_t hash) const;
    void reserveOneMore();
    void rehash(size_t slotCount);
    quint32 insertAt(size_t slot, const QString &key);
    void erase(quint32 entryIndex);
    quint32 allocateEntry();
    void store(quint32 entryIndex, const QCborValue &value, const Timestamp &timestamp,
               std::optional<qint64> ttlMs);
    bool isNewer(const Timestamp &remote, const Entry &local) const;

    Hlc *m_hlc;
    std::vector<std::unique_ptr<Entry[]>> m_chunks;
    quint32 m_entryCount = 0; // entries handed out so far, free ones included
    std::vector<quint32> m_freeEntries;
    // Open addressing, triangular probing: 0 empty, kDeletedSlot, else entry index + 1.
    std::vector<quint32> m_slots;
    int m_slotShift = 64;
    qsizetype m_deletedSlots = 0;
    qsizetype m_size = 0;
    NodeIdPool m_nodeIds;
    MerkleTree m_tree;
    ChangeListener m_listener;
};

template<typename Function>
void LwwMap::forEach(Function &&function) const
{
    for (quint32 index = 0; index < m_entryCount; ++index) {
        const Entry &entry = entryAt(index);
        if (entry.nodeId != kFreeEntry)
            function(entry.key, toRecord(entry));
    }
}

} // namespace wingman::crdt

#pragma once

#include "crdt/Hlc.h"
#include "crdt/LwwRecord.h"
#include "crdt/MerkleTree.h"
#include "crdt/NodeIdPool.h"

#include <QCborValue>
#include <QHash>
#include <QString>
#include <QStringList>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace wingman::crdt {

// Last-write-wins map (docs/core.md "LWW map"): key -> LwwRecord, with its MerkleTree kept current
// on every change. Local writes are stamped by the node's Hlc, which many maps share and which must
// outlive the map; merge() feeds remote timestamps to it.
//
// Built for the server's hot path. The Merkle tree, which holds every key anyway, is also the
// key index: its entries carry the record's index. Records sit in fixed-size chunks (40 bytes
// each, plus the value's payload) and refer to interned node ids: with its Merkle entry a record
// costs about 100 bytes of heap besides its key and value (tests/bench/bench_crdt measures it).
// A packed value's payload is its MessagePack bytes, far smaller than a QCborValue tree.
// Not thread-safe; do not modify the map from inside forEach().
class LwwMap
{
public:
    // Called after each record change: set(), remove(), accepted merges and expire(). prune()
    // and clear() do not call it: they drop tombstones and state that reads as absent anyway.
    using ChangeListener = std::function<void(const QString &key, const LwwRecord &record)>;

    explicit LwwMap(Hlc &hlc);
    ~LwwMap();
    LwwMap(LwwMap &&) noexcept;
    LwwMap &operator=(LwwMap &&) noexcept;
    LwwMap(const LwwMap &) = delete;
    LwwMap &operator=(const LwwMap &) = delete;

    // Stamps with hlc().now() and stores; returns the stored record.
    LwwRecord set(
        const QString &key, const Value &value, std::optional<qint64> ttlMs = std::nullopt);
    // Stores a tombstone stamped with hlc().now().
    LwwRecord remove(const QString &key);
    // Advances the clock past remote, then keeps remote iff there is no local record or remote's
    // timestamp is strictly greater. Returns whether remote was kept; a timestamp the clock
    // rejects (strict drift check) is never kept. When remote is kept and wasLive is given, it
    // tells whether the key held a value that was not a tombstone (TTL aside) before; previous,
    // when given, receives that value.
    bool merge(const QString &key, const LwwRecord &remote, bool *wasLive = nullptr,
        std::optional<Value> *previous = nullptr);

    // Adds records that are known to be new to this map (restart from storage) without the
    // clock's drift check; a key already present is overwritten. The iterators give distinct
    // keys: a QHash's (key(), value()) or a sequence of structs with key and record members.
    // With KeysAreNew the caller promises none of the keys is in the map yet (a later chunk of
    // one load), which saves a lookup each. Does not touch hlc(), so maps sharing one clock can
    // load on several threads: the caller advances the clock past the returned newest timestamp
    // afterwards. No change listener is called.
    enum class LoadKeys { MayExist, KeysAreNew };
    template <typename Iterator>
    std::optional<Timestamp> load(Iterator begin, Iterator end, LoadKeys keys = LoadKeys::MayExist);

    // The value, unless absent, a tombstone, or past its TTL on hlc()'s clock.
    std::optional<QCborValue> get(const QString &key) const;
    // The stored record as is, tombstones and expired records included.
    std::optional<LwwRecord> getRecord(const QString &key) const;
    bool contains(const QString &key) const;

    // Deletes tombstones whose timestamp is below olderThan, from the map and the Merkle tree.
    QStringList prune(const Timestamp &olderThan);
    // Deletes every record, live or not, whose timestamp is below olderThan, leaving no
    // tombstone: what a node that missed a cluster GC horizon does to the state it cannot trust.
    QStringList discardOlderThan(const Timestamp &olderThan);

    struct Expiry {
        QString key;
        LwwRecord tombstone;
        Value value; // the value that expired
    };
    // Replaces every live record past its TTL on nowMillis by its expiry tombstone
    // (LwwRecord::expiryTombstone with hlc()'s node id), as the server's GC does; returns them
    // in Merkle path order. With mayExpire, only the keys it accepts.
    QList<Expiry> expire(
        qint64 nowMillis, const std::function<bool(const QString &key)> &mayExpire = {});

    void clear();

    // Calls function(const QString &key, const LwwRecord &record) for every stored record,
    // tombstones included, leaf by leaf in Merkle path order.
    template <typename Function> void forEach(Function &&function) const;
    QStringList keys() const;
    qsizetype size() const { return m_tree.size(); }
    bool isEmpty() const { return m_tree.size() == 0; }

    const MerkleTree &merkleTree() const { return m_tree; }
    Hlc &hlc() const { return *m_hlc; }
    void setChangeListener(ChangeListener listener) { m_listener = std::move(listener); }

private:
    QStringList removeOlderThan(const Timestamp &olderThan, bool tombstonesOnly);

    static constexpr int kChunkBits = 6;
    static constexpr quint32 kChunkSize = 1u << kChunkBits;

    // A record without its key (the tree holds it) or its own Timestamp: the node id is an index
    // into m_nodeIds. 40 bytes: the value's two forms share one slot, told apart by a flag bit
    // beside the node id, and the TTL, which few records have, is kept aside in m_ttls.
    class Entry
    {
    public:
        Entry() { new (&m_cbor) QCborValue(); }
        ~Entry() { destroyValue(); }
        Entry(const Entry &) = delete;
        Entry &operator=(const Entry &) = delete;

        Value value() const { return isPacked() ? Value::fromPacked(m_packed) : Value(m_cbor); }
        void setValue(const Value &value);
        bool isNullish() const
        {
            return isPacked() ? Value::isNullPacked(m_packed) || Value::isUndefinedPacked(m_packed)
                              : m_cbor.isNull() || m_cbor.isUndefined();
        }
        quint32 nodeId() const { return m_bits & kNodeIdMask; }
        void setNodeId(quint32 nodeId) { m_bits = (m_bits & ~kNodeIdMask) | nodeId; }
        bool hasTtl() const { return m_bits & kHasTtl; }
        void setHasTtl(bool hasTtl) { m_bits = hasTtl ? m_bits | kHasTtl : m_bits & ~kHasTtl; }

        qint64 millis = 0;
        qint32 counter = 0;

    private:
        static constexpr quint32 kPacked = 1u << 31;
        static constexpr quint32 kHasTtl = 1u << 30;
        static constexpr quint32 kNodeIdMask = kHasTtl - 1;

        bool isPacked() const { return m_bits & kPacked; }
        void destroyValue()
        {
            if (isPacked())
                m_packed.~QByteArray();
            else
                m_cbor.~QCborValue();
        }

        quint32 m_bits = 0; // beside counter, where it fills what would be padding
        union {
            QCborValue m_cbor;
            QByteArray m_packed;
        };
    };
    static_assert(sizeof(Entry) == 40);

    Entry &entryAt(quint32 index)
    {
        return m_chunks[index >> kChunkBits][index & (kChunkSize - 1)];
    }
    const Entry &entryAt(quint32 index) const
    {
        return m_chunks[index >> kChunkBits][index & (kChunkSize - 1)];
    }
    LwwRecord toRecord(quint32 index) const;
    bool isNewer(const Timestamp &remote, const Entry &local) const;
    quint32 allocateEntry();
    void freeEntry(quint32 index);
    void store(const QString &key, quint32 keyHash, quint32 index, const Value &value,
        const Timestamp &timestamp, std::optional<qint64> ttlMs);

    Hlc *m_hlc;
    MerkleTree m_tree; // key -> item hash, and the key's entry index
    std::vector<std::unique_ptr<Entry[]>> m_chunks;
    quint32 m_entryCount = 0; // entries handed out so far, freed ones included
    std::vector<quint32> m_freeEntries;
    QHash<quint32, qint64> m_ttls; // entry index -> ttlMs, for the entries that have one
    NodeIdPool m_nodeIds;
    ChangeListener m_listener;
};

namespace detail {

template <typename Iterator> const QString &loadedKey(const Iterator &it)
{
    if constexpr (requires { it.key(); })
        return it.key();
    else
        return it->key;
}

template <typename Iterator> const LwwRecord &loadedRecord(const Iterator &it)
{
    if constexpr (requires { it.value(); })
        return it.value();
    else
        return it->record;
}

} // namespace detail

template <typename Iterator>
std::optional<Timestamp> LwwMap::load(Iterator begin, Iterator end, LoadKeys keys)
{
    std::optional<Timestamp> newest;
    const ChangeListener listener = std::exchange(m_listener, {});
    // Into an empty map, the keys (distinct, as the iterators promise) are all new: the
    // leaves are sized for them up front, which saves both the regrowth and the blocks it frees.
    const bool empty = isEmpty();
    std::vector<quint32> keyHashes;
    keyHashes.reserve(size_t(std::distance(begin, end)));
    for (auto it = begin; it != end; ++it)
        keyHashes.push_back(hash(detail::loadedKey(it)));
    if (empty)
        m_tree.reserve(keyHashes);
    size_t position = 0;
    for (auto it = begin; it != end; ++it) {
        const QString &key = detail::loadedKey(it);
        const LwwRecord &record = detail::loadedRecord(it);
        const quint32 keyHash = keyHashes[position++];
        const auto index
            = empty || keys == LoadKeys::KeysAreNew ? std::nullopt : m_tree.value(key, keyHash);
        store(key, keyHash, index ? *index : allocateEntry(), record.value, record.timestamp,
            record.ttlMs);
        if (!newest || *newest < record.timestamp)
            newest = record.timestamp;
    }
    m_listener = listener;
    return newest;
}

template <typename Function> void LwwMap::forEach(Function &&function) const
{
    m_tree.forEachEntry(
        [&](const QString &key, quint32, quint32 index) { function(key, toRecord(index)); });
}

} // namespace wingman::crdt

#include "crdt/LwwMap.h"

#include <bit>

namespace wingman::crdt {

namespace {

constexpr quint32 kEmptySlot = 0;
constexpr quint32 kDeletedSlot = std::numeric_limits<quint32>::max();
constexpr size_t kMinSlots = 16;

bool sameKey(const QString &a, const QString &b)
{
    return a.size() == b.size() && (a.constData() == b.constData() || QStringView(a) == QStringView(b));
}

} // namespace

LwwMap::LwwMap(Hlc &hlc)
    : m_hlc(&hlc)
{
}

LwwMap::~LwwMap() = default;
LwwMap::LwwMap(LwwMap &&) noexcept = default;
LwwMap &LwwMap::operator=(LwwMap &&) noexcept = default;

LwwRecord LwwMap::set(const QString &key, const QCborValue &value, std::optional<qint64> ttlMs)
{
    const Timestamp timestamp = m_hlc->now();
    reserveOneMore();
    const Probe found = probe(key, indexHash(key));
    const quint32 index = found.entry != kNotFound ? found.entry : insertAt(found.slot, key);
    store(index, value, timestamp, ttlMs);
    return LwwRecord { value, timestamp, ttlMs };
}

LwwRecord LwwMap::remove(const QString &key)
{
    return set(key, QCborValue(QCborValue::Null));
}

bool LwwMap::merge(const QString &key, const LwwRecord &remote)
{
    if (!m_hlc->update(remote.timestamp))
        return false;
    reserveOneMore();
    const Probe found = probe(key, indexHash(key));
    if (found.entry != kNotFound && !isNewer(remote.timestamp, entryAt(found.entry)))
        return false;
    const quint32 index = found.entry != kNotFound ? found.entry : insertAt(found.slot, key);
    store(index, remote.value, remote.timestamp, remote.ttlMs);
    return true;
}

std::optional<QCborValue> LwwMap::get(const QString &key) const
{
    const Entry *entry = find(key);
    if (!entry || entry->value.isNull() || entry->value.isUndefined())
        return std::nullopt;
    if (entry->ttlMs != kNoTtl) {
        const LwwRecord timing { {}, Timestamp { entry->millis, entry->counter, {} }, entry->ttlMs };
        if (timing.isExpired(m_hlc->clockMillis()))
            return std::nullopt;
    }
    return entry->value;
}

std::optional<LwwRecord> LwwMap::getRecord(const QString &key) const
{
    const Entry *entry = find(key);
    if (!entry)
        return std::nullopt;
    return toRecord(*entry);
}

bool LwwMap::contains(const QString &key) const
{
    return find(key) != nullptr;
}

QStringList LwwMap::prune(const Timestamp &olderThan)
{
    QStringList removed;
    for (quint32 index = 0; index < m_entryCount; ++index) {
        const Entry &entry = entryAt(index);
        if (entry.nodeId == kFreeEntry || !(entry.value.isNull() || entry.value.isUndefined()))
            continue;
        const Timestamp timestamp { entry.millis, entry.counter, m_nodeIds.at(entry.nodeId) };
        if (!(timestamp < olderThan))
            continue;
        const QString key = entry.key;
        m_tree.remove(key);
        erase(index);
        removed.append(key);
    }
    return removed;
}

void LwwMap::clear()
{
    m_chunks.clear();
    m_entryCount = 0;
    m_freeEntries.clear();
    m_slots.clear();
    m_slotShift = 64;
    m_deletedSlots = 0;
    m_size = 0;
    m_nodeIds.clear();
    m_tree.clear();
}

QStringList LwwMap::keys() const
{
    QStringList result;
    result.reserve(m_size);
    forEach([&result](const QString &key, const LwwRecord &) { result.append(key); });
    return result;
}

LwwRecord LwwMap::toRecord(const Entry &entry) const
{
    LwwRecord record { entry.value, Timestamp { entry.millis, entry.counter, m_nodeIds.at(entry.nodeId) },
                       std::nullopt };
    if (entry.ttlMs != kNoTtl)
        record.ttlMs = entry.ttlMs;
    return record;
}

const LwwMap::Entry *LwwMap::find(const QString &key) const
{
    const Probe found = probe(key, indexHash(key));
    return found.entry != kNotFound ? &entryAt(found.entry) : nullptr;
}

size_t LwwMap::indexHash(const QString &key)
{
    // Seeded, unlike FNV-1a: keys crafted to collide cannot pile up in one probe run.
    return qHash(QStringView(key), QHashSeed::globalSeed());
}

size_t LwwMap::homeSlot(size_t hash) const
{
    // Fibonacci hashing folds every bit of the hash into the top bits used as the index.
    return size_t((quint64(hash) * 0x9E3779B97F4A7C15ull) >> m_slotShift);
}

LwwMap::Probe LwwMap::probe(const QString &key, size_t hash) const
{
    Probe result;
    if (m_slots.empty())
        return result;
    const size_t mask = m_slots.size() - 1;
    size_t position = homeSlot(hash);
    size_t firstDeleted = m_slots.size();
    // Triangular steps visit every slot of a power-of-two table; a quarter is always empty.
    for (size_t step = 1;; ++step) {
        const quint32 slot = m_slots[position];
        if (slot == kEmptySlot) {
            result.slot = firstDeleted != m_slots.size() ? firstDeleted : position;
            return result;
        }
        if (slot == kDeletedSlot) {
            if (firstDeleted == m_slots.size())
                firstDeleted = position;
        } else if (sameKey(entryAt(slot - 1).key, key)) {
            result.entry = slot - 1;
            result.slot = position;
            return result;
        }
        position = (position + step) & mask;
    }
}

void LwwMap::reserveOneMore()
{
    const size_t used = size_t(m_size) + size_t(m_deletedSlots) + 1;
    if (!m_slots.empty() && used * 4 <= m_slots.size() * 3)
        return;
    // Rebuild at most half full; a table clogged by deleted slots is rebuilt at its own size.
    size_t slotCount = std::max(kMinSlots, m_slots.size());
    while ((size_t(m_size) + 1) * 2 > slotCount)
        slotCount *= 2;
    rehash(slotCount);
}

void LwwMap::rehash(size_t slotCount)
{
    m_slots.assign(slotCount, kEmptySlot);
    m_slotShift = 64 - std::countr_zero(slotCount);
    m_deletedSlots = 0;
    const size_t mask = slotCount - 1;
    for (quint32 index = 0; index < m_entryCount; ++index) {
        const Entry &entry = entryAt(index);
        if (entry.nodeId == kFreeEntry)
            continue;
        size_t position = homeSlot(indexHash(entry.key));
        for (size_t step = 1; m_slots[position] != kEmptySlot; ++step)
            position = (position + step) & mask;
        m_slots[position] = index + 1;
    }
}

quint32 LwwMap::insertAt(size_t slot, const QString &key)
{
    const quint32 index = allocateEntry();
    entryAt(index).key = key;
    if (m_slots[slot] == kDeletedSlot)
        --m_deletedSlots;
    m_slots[slot] = index + 1;
    ++m_size;
    return index;
}

void LwwMap::erase(quint32 entryIndex)
{
    const size_t mask = m_slots.size() - 1;
    size_t position = homeSlot(indexHash(entryAt(entryIndex).key));
    for (size_t step = 1; m_slots[position] != entryIndex + 1; ++step)
        position = (position + step) & mask;
    m_slots[position] = kDeletedSlot;
    ++m_deletedSlots;
    --m_size;

    Entry &entry = entryAt(entryIndex);
    entry = Entry();
    m_freeEntries.push_back(entryIndex);
}

quint32 LwwMap::allocateEntry()
{
    if (!m_freeEntries.empty()) {
        const quint32 index = m_freeEntries.back();
        m_freeEntries.pop_back();
        return index;
    }
    if ((m_entryCount >> kChunkBits) == m_chunks.size())
        m_chunks.push_back(std::make_unique<Entry[]>(kChunkSize));
    return m_entryCount++;
}

void LwwMap::store(quint32 entryIndex, const QCborValue &value,
                   const Timestamp &timestamp, std::optional<qint64> ttlMs)
{
    Entry &entry = entryAt(entryIndex);
    entry.value = value;
    entry.millis = timestamp.millis;
    entry.counter = timestamp.counter;
    entry.nodeId = m_nodeIds.indexOf(timestamp.nodeId);
    entry.ttlMs = ttlMs ? *ttlMs : kNoTtl;
    // Passing the stored key lets the Merkle leaf share its buffer.
    m_tree.update(entry.key,
                  MerkleTree::itemHash(entry.key, entry.millis, entry.counter,
                                       m_nodeIds.at(entry.nodeId)));
    if (m_listener)
        m_listener(entry.key, toRecord(entry));
}

bool LwwMap::isNewer(const Timestamp &remote, const Entry &local) const
{
    if (remote.millis != local.millis)
        return remote.millis > local.millis;
    if (remote.counter != local.counter)
        return remote.counter > local.counter;
    return compareNodeIds(remote.nodeId, m_nodeIds.at(local.nodeId)) > 0;
}

} // namespace wingman::crdt

#include "crdt/LwwMap.h"

#include <utility>

namespace wingman::crdt {

LwwMap::LwwMap(Hlc &hlc)
    : m_hlc(&hlc)
{ }

LwwMap::~LwwMap() = default;
LwwMap::LwwMap(LwwMap &&) noexcept = default;
LwwMap &LwwMap::operator=(LwwMap &&) noexcept = default;

LwwRecord LwwMap::set(const QString &key, const Value &value, std::optional<qint64> ttlMs)
{
    const Timestamp timestamp = m_hlc->now();
    const quint32 keyHash = hash(key);
    const auto index = m_tree.value(key, keyHash);
    store(key, keyHash, index ? *index : allocateEntry(), value, timestamp, ttlMs);
    return LwwRecord { value, timestamp, ttlMs };
}

LwwRecord LwwMap::remove(const QString &key)
{
    return set(key, QCborValue(QCborValue::Null));
}

bool LwwMap::merge(
    const QString &key, const LwwRecord &remote, bool *wasLive, std::optional<Value> *previous)
{
    if (!m_hlc->update(remote.timestamp))
        return false;
    const quint32 keyHash = hash(key);
    const auto index = m_tree.value(key, keyHash);
    if (index && !isNewer(remote.timestamp, entryAt(*index)))
        return false;
    const bool live = index && !entryAt(*index).isNullish();
    if (wasLive)
        *wasLive = live;
    if (previous && live)
        *previous = entryAt(*index).value();
    store(key, keyHash, index ? *index : allocateEntry(), remote.value, remote.timestamp,
        remote.ttlMs);
    return true;
}

std::optional<QCborValue> LwwMap::get(const QString &key) const
{
    const auto index = m_tree.value(key, hash(key));
    if (!index)
        return std::nullopt;
    const Entry &entry = entryAt(*index);
    if (entry.isNullish())
        return std::nullopt;
    if (entry.hasTtl()) {
        const LwwRecord timing { {}, Timestamp { entry.millis, entry.counter, {} },
            m_ttls.value(*index, 0) };
        if (timing.isExpired(m_hlc->clockMillis()))
            return std::nullopt;
    }
    return entry.value().toCbor();
}

std::optional<LwwRecord> LwwMap::getRecord(const QString &key) const
{
    const auto index = m_tree.value(key, hash(key));
    if (!index)
        return std::nullopt;
    return toRecord(*index);
}

bool LwwMap::contains(const QString &key) const
{
    return m_tree.value(key, hash(key)).has_value();
}

QStringList LwwMap::prune(const Timestamp &olderThan)
{
    return removeOlderThan(olderThan, true);
}

QStringList LwwMap::discardOlderThan(const Timestamp &olderThan)
{
    return removeOlderThan(olderThan, false);
}

QStringList LwwMap::removeOlderThan(const Timestamp &olderThan, bool tombstonesOnly)
{
    QStringList removed;
    std::vector<quint32> freed;
    m_tree.forEachEntry([&](const QString &key, quint32, quint32 index) {
        const Entry &entry = entryAt(index);
        if (tombstonesOnly && !entry.isNullish())
            return;
        if (Timestamp { entry.millis, entry.counter, m_nodeIds.at(entry.nodeId()) } < olderThan) {
            removed.append(key);
            freed.push_back(index);
        }
    });
    for (const QString &key : std::as_const(removed))
        m_tree.remove(key);
    for (const quint32 index : freed)
        freeEntry(index);
    return removed;
}

QList<LwwMap::Expiry> LwwMap::expire(
    qint64 nowMillis, const std::function<bool(const QString &key)> &mayExpire)
{
    QList<Expiry> expired;
    std::vector<quint32> indexes;
    m_tree.forEachEntry([&](const QString &key, quint32, quint32 index) {
        const Entry &entry = entryAt(index);
        if (!entry.hasTtl() || entry.isNullish())
            return;
        const LwwRecord record = toRecord(index);
        if (!record.isExpired(nowMillis) || (mayExpire && !mayExpire(key)))
            return;
        if (auto tombstone = record.expiryTombstone(m_hlc->nodeId())) {
            expired.append({ key, std::move(*tombstone), entry.value() });
            indexes.push_back(index);
        }
    });
    for (qsizetype i = 0; i < expired.size(); ++i) {
        const Expiry &expiry = expired.at(i);
        store(expiry.key, hash(expiry.key), indexes[size_t(i)], expiry.tombstone.value,
            expiry.tombstone.timestamp, std::nullopt);
    }
    return expired;
}

void LwwMap::clear()
{
    m_tree.clear();
    m_chunks.clear();
    m_entryCount = 0;
    m_freeEntries.clear();
    m_ttls.clear();
    m_nodeIds.clear();
}

QStringList LwwMap::keys() const
{
    QStringList result;
    result.reserve(size());
    m_tree.forEachEntry([&result](const QString &key, quint32, quint32) { result.append(key); });
    return result;
}

void LwwMap::Entry::setValue(const Value &value)
{
    destroyValue();
    if (value.isPacked()) {
        new (&m_packed) QByteArray(value.packed());
        m_bits |= kPacked;
    } else {
        new (&m_cbor) QCborValue(value.toCbor());
        m_bits &= ~kPacked;
    }
}

LwwRecord LwwMap::toRecord(quint32 index) const
{
    const Entry &entry = entryAt(index);
    LwwRecord record { entry.value(),
        Timestamp { entry.millis, entry.counter, m_nodeIds.at(entry.nodeId()) }, std::nullopt };
    if (entry.hasTtl())
        record.ttlMs = m_ttls.value(index, 0);
    return record;
}

bool LwwMap::isNewer(const Timestamp &remote, const Entry &local) const
{
    if (remote.millis != local.millis)
        return remote.millis > local.millis;
    if (remote.counter != local.counter)
        return remote.counter > local.counter;
    return compareNodeIds(remote.nodeId, m_nodeIds.at(local.nodeId())) > 0;
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

void LwwMap::freeEntry(quint32 index)
{
    Entry &entry = entryAt(index);
    entry.setValue(Value());
    entry.millis = 0;
    entry.counter = 0;
    entry.setNodeId(0);
    if (entry.hasTtl()) {
        m_ttls.remove(index);
        entry.setHasTtl(false);
    }
    m_freeEntries.push_back(index);
}

void LwwMap::store(const QString &key, quint32 keyHash, quint32 index, const Value &value,
    const Timestamp &timestamp, std::optional<qint64> ttlMs)
{
    Entry &entry = entryAt(index);
    entry.setValue(value);
    entry.millis = timestamp.millis;
    entry.counter = timestamp.counter;
    entry.setNodeId(m_nodeIds.indexOf(timestamp.nodeId));
    if (ttlMs)
        m_ttls.insert(index, *ttlMs);
    else if (entry.hasTtl())
        m_ttls.remove(index);
    entry.setHasTtl(ttlMs.has_value());
    m_tree.update(key, keyHash,
        MerkleTree::itemHash(key, entry.millis, entry.counter, m_nodeIds.at(entry.nodeId())),
        index);
    if (m_listener)
        m_listener(key, toRecord(index));
}

} // namespace wingman::crdt

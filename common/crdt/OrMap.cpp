#include "crdt/OrMap.h"

#include <QCborArray>

#include <algorithm>

namespace wingman::crdt {

namespace {

bool isNumber(const QCborValue &value)
{
    return value.isInteger() || value.isDouble();
}

// JavaScript's === for numbers (5 and 5.0 are one number, NaN differs from itself); structural
// equality otherwise, since a decoded object is never the very instance a client holds.
bool sameValue(const QCborValue &a, const QCborValue &b)
{
    if (isNumber(a) && isNumber(b)) {
        if (a.isInteger() && b.isInteger())
            return a.toInteger() == b.toInteger();
        return a.toDouble() == b.toDouble();
    }
    return a == b;
}

bool tagBefore(const OrRecord &record, const QString &tag)
{
    return record.tag < tag;
}

} // namespace

OrMap::OrMap(Hlc &hlc)
    : m_hlc(&hlc)
{ }

OrRecord OrMap::add(const QString &key, const QCborValue &value, std::optional<qint64> ttlMs)
{
    const Timestamp timestamp = m_hlc->now();
    const OrRecord record { value, timestamp, timestamp.toString(), ttlMs };
    store(key, record, false);
    refresh(key);
    return record;
}

QStringList OrMap::remove(const QString &key, const QCborValue &value)
{
    const auto items = m_items.find(key);
    if (items == m_items.end())
        return {};
    QStringList tags;
    for (qsizetype i = items->records.size() - 1; i >= 0; --i) {
        if (!sameValue(items->records.at(i).value.toCbor(), value))
            continue;
        tags.prepend(items->records.at(i).tag);
        items->records.remove(i);
        items->strings.remove(i);
    }
    if (tags.isEmpty())
        return tags;

    if (items->records.isEmpty())
        m_items.erase(items);
    for (const QString &tag : std::as_const(tags)) {
        m_tombstones.insert(tag);
        m_tagKeys.remove(tag);
    }
    refresh(key);
    return tags;
}

bool OrMap::apply(const QString &key, const OrRecord &record)
{
    if (m_tombstones.contains(record.tag) || !m_hlc->update(record.timestamp))
        return false;
    if (store(key, record, false) != Stored::Kept)
        refresh(key);
    return true;
}

bool OrMap::applyTombstone(const QString &tag)
{
    m_tombstones.insert(tag);
    const auto key = dropTag(tag);
    if (!key)
        return false;
    refresh(*key);
    return true;
}

OrMap::MergeResult OrMap::merge(const OrMap &other)
{
    MergeResult result;
    if (&other == this)
        return result;
    QSet<QString> changed;
    for (const QString &tag : other.m_tombstones) {
        if (m_tombstones.contains(tag))
            continue;
        m_tombstones.insert(tag);
        if (const auto key = dropTag(tag)) {
            ++result.removed;
            changed.insert(*key);
        }
    }
    for (auto items = other.m_items.cbegin(); items != other.m_items.cend(); ++items) {
        for (const OrRecord &record : items->records) {
            if (m_tombstones.contains(record.tag) || !m_hlc->update(record.timestamp))
                continue;
            switch (store(items.key(), record, true)) {
            case Stored::Added:
                ++result.added;
                changed.insert(items.key());
                break;
            case Stored::Replaced:
                ++result.updated;
                changed.insert(items.key());
                break;
            case Stored::Kept:
                break;
            }
        }
    }
    for (const QString &key : std::as_const(changed))
        refresh(key);
    return result;
}

OrMap::MergeResult OrMap::mergeKey(
    const QString &key, const QList<OrRecord> &records, const QStringList &tombstones)
{
    MergeResult result;
    QSet<QString> changed;
    for (const QString &tag : tombstones) {
        if (m_tombstones.contains(tag))
            continue;
        m_tombstones.insert(tag);
        if (const auto owner = dropTag(tag)) {
            ++result.removed;
            changed.insert(*owner);
        }
    }
    for (const OrRecord &record : records) {
        if (m_tombstones.contains(record.tag) || !m_hlc->update(record.timestamp))
            continue;
        switch (store(key, record, true)) {
        case Stored::Added:
            ++result.added;
            changed.insert(key);
            break;
        case Stored::Replaced:
            ++result.updated;
            changed.insert(key);
            break;
        case Stored::Kept:
            break;
        }
    }
    for (const QString &changedKey : std::as_const(changed))
        refresh(changedKey);
    return result;
}

QList<QCborValue> OrMap::get(const QString &key) const
{
    QList<QCborValue> values;
    const auto items = m_items.constFind(key);
    if (items == m_items.cend())
        return values;
    const qint64 now = m_hlc->clockMillis();
    for (const OrRecord &record : items->records) {
        if (!record.isExpired(now))
            values.append(record.value.toCbor());
    }
    return values;
}

std::optional<QCborValue> OrMap::liveValue(const QString &key) const
{
    const QList<QCborValue> values = get(key);
    if (values.isEmpty())
        return std::nullopt;
    QCborArray array;
    for (const QCborValue &value : values)
        array.append(value);
    return QCborValue(std::move(array));
}

QList<OrRecord> OrMap::getRecords(const QString &key) const
{
    QList<OrRecord> live = records(key);
    const qint64 now = m_hlc->clockMillis();
    live.removeIf([now](const OrRecord &record) { return record.isExpired(now); });
    return live;
}

QStringList OrMap::tombstones() const
{
    QStringList tags = m_tombstones.values();
    std::sort(tags.begin(), tags.end());
    return tags;
}

QStringList OrMap::prune(const Timestamp &olderThan)
{
    QStringList removed;
    for (auto tag = m_tombstones.begin(); tag != m_tombstones.end();) {
        const auto timestamp = Timestamp::fromString(*tag);
        if (timestamp && *timestamp < olderThan) {
            removed.append(*tag);
            tag = m_tombstones.erase(tag);
        } else {
            ++tag;
        }
    }
    std::sort(removed.begin(), removed.end());
    return removed;
}

QList<OrMap::Expiry> OrMap::expire(
    qint64 nowMillis, const std::function<bool(const QString &key)> &mayExpire)
{
    QList<Expiry> expired;
    for (auto items = m_items.cbegin(); items != m_items.cend(); ++items) {
        if (mayExpire && !mayExpire(items.key()))
            continue;
        for (const OrRecord &record : items->records) {
            if (record.isExpired(nowMillis))
                expired.append({ items.key(), record.tag });
        }
    }
    std::sort(expired.begin(), expired.end(), [](const Expiry &a, const Expiry &b) {
        return a.key != b.key ? a.key < b.key : a.tag < b.tag;
    });
    QSet<QString> changed;
    for (const Expiry &expiry : std::as_const(expired)) {
        m_tombstones.insert(expiry.tag);
        dropTag(expiry.tag);
        changed.insert(expiry.key);
    }
    for (const QString &key : std::as_const(changed))
        refresh(key);
    return expired;
}

QList<OrMap::Expiry> OrMap::discardOlderThan(const Timestamp &olderThan)
{
    QList<Expiry> dropped;
    for (auto items = m_items.cbegin(); items != m_items.cend(); ++items) {
        for (const OrRecord &record : items->records) {
            if (record.timestamp < olderThan)
                dropped.append({ items.key(), record.tag });
        }
    }
    std::sort(dropped.begin(), dropped.end(), [](const Expiry &a, const Expiry &b) {
        return a.key != b.key ? a.key < b.key : a.tag < b.tag;
    });
    QSet<QString> changed;
    for (const Expiry &record : std::as_const(dropped)) {
        dropTag(record.tag);
        changed.insert(record.key);
    }
    for (const QString &key : std::as_const(changed))
        refresh(key);
    return dropped;
}

void OrMap::clear()
{
    m_items.clear();
    m_tombstones.clear();
    m_tagKeys.clear();
    m_nodeIds.clear();
    m_tree.clear();
}

OrMap::Stored OrMap::store(const QString &key, const OrRecord &incoming, bool replaceOnlyIfNewer)
{
    // A tag names one record under one key; a sender that re-keys it moves it.
    const auto owner = m_tagKeys.constFind(incoming.tag);
    if (owner != m_tagKeys.cend() && owner.value() != key) {
        const QString previousKey = owner.value();
        dropTag(incoming.tag);
        refresh(previousKey);
    }

    OrRecord record = incoming;
    record.timestamp.nodeId = m_nodeIds.intern(record.timestamp.nodeId);
    KeyRecords &items = m_items[key];
    const qsizetype position
        = std::lower_bound(items.records.cbegin(), items.records.cend(), record.tag, tagBefore)
        - items.records.cbegin();
    if (position < items.records.size() && items.records.at(position).tag == record.tag) {
        const OrRecord &current = items.records.at(position);
        if (current == record || (replaceOnlyIfNewer && !(record.timestamp > current.timestamp)))
            return Stored::Kept;
        items.strings[position] = OrMapMerkleTree::recordString(record);
        items.records[position] = std::move(record);
        return Stored::Replaced;
    }
    m_tagKeys.insert(record.tag, key);
    items.strings.insert(position, OrMapMerkleTree::recordString(record));
    items.records.insert(position, std::move(record));
    return Stored::Added;
}

std::optional<QString> OrMap::dropTag(const QString &tag)
{
    const auto owner = m_tagKeys.find(tag);
    if (owner == m_tagKeys.end())
        return std::nullopt;
    const QString key = owner.value();
    m_tagKeys.erase(owner);
    const auto items = m_items.find(key);
    if (items != m_items.end()) {
        const auto position
            = std::lower_bound(items->records.cbegin(), items->records.cend(), tag, tagBefore);
        if (position != items->records.cend() && position->tag == tag) {
            const qsizetype index = position - items->records.cbegin();
            items->records.remove(index);
            items->strings.remove(index);
        }
        if (items->records.isEmpty())
            m_items.erase(items);
    }
    return key;
}

void OrMap::refresh(const QString &key)
{
    const auto items = m_items.constFind(key);
    if (items == m_items.cend())
        m_tree.remove(key);
    else
        m_tree.update(key, OrMapMerkleTree::entryHash(key, items->strings));
    if (m_listener)
        m_listener(key);
}

} // namespace wingman::crdt

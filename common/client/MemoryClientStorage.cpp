#include "client/MemoryClientStorage.h"

#include <algorithm>

namespace wingman::client {

namespace {

std::optional<qint64> sequenceOf(const QString &id)
{
    bool ok = false;
    const qint64 sequence = id.toLongLong(&ok);
    return ok ? std::optional(sequence) : std::nullopt;
}

} // namespace

bool MemoryClientStorage::open()
{
    m_open = true;
    return true;
}

QString MemoryClientStorage::appendOp(const protocol::ClientOp &op)
{
    const qint64 sequence = ++m_lastSequence;
    LoggedOp logged { op, false };
    logged.op.id = QString::number(sequence);
    m_ops.insert(sequence, std::move(logged));
    return QString::number(sequence);
}

bool MemoryClientStorage::markOpSynced(const QString &id)
{
    const std::optional<qint64> sequence = sequenceOf(id);
    if (!sequence)
        return true;
    const auto it = m_ops.find(*sequence);
    if (it != m_ops.end())
        it->synced = true;
    return true;
}

bool MemoryClientStorage::removeOp(const QString &id)
{
    if (const std::optional<qint64> sequence = sequenceOf(id))
        m_ops.remove(*sequence);
    return true;
}

bool MemoryClientStorage::pruneSyncedOps()
{
    m_ops.removeIf([](const auto &it) { return it.value().synced; });
    return true;
}

QList<protocol::ClientOp> MemoryClientStorage::unsyncedOps() const
{
    QList<protocol::ClientOp> ops;
    for (const LoggedOp &logged : m_ops) {
        if (!logged.synced)
            ops.append(logged.op);
    }
    return ops;
}

bool MemoryClientStorage::storeLwwRecord(
    const QString &mapName, const QString &key, const crdt::LwwRecord &record)
{
    m_lwwRecords[mapName].insert(key, record);
    return true;
}

bool MemoryClientStorage::removeLwwRecord(const QString &mapName, const QString &key)
{
    const auto map = m_lwwRecords.find(mapName);
    if (map != m_lwwRecords.end())
        map->remove(key);
    return true;
}

QHash<QString, crdt::LwwRecord> MemoryClientStorage::lwwRecords(const QString &mapName) const
{
    return m_lwwRecords.value(mapName);
}

bool MemoryClientStorage::storeOrRecords(
    const QString &mapName, const QString &key, const QList<crdt::OrRecord> &records)
{
    if (records.isEmpty()) {
        const auto map = m_orRecords.find(mapName);
        if (map != m_orRecords.end())
            map->remove(key);
        return true;
    }
    m_orRecords[mapName].insert(key, records);
    return true;
}

QHash<QString, QList<crdt::OrRecord>> MemoryClientStorage::orRecords(const QString &mapName) const
{
    return m_orRecords.value(mapName);
}

bool MemoryClientStorage::addOrTombstones(const QString &mapName, const QStringList &tags)
{
    QSet<QString> &tombstones = m_orTombstones[mapName];
    for (const QString &tag : tags)
        tombstones.insert(tag);
    return true;
}

bool MemoryClientStorage::removeOrTombstones(const QString &mapName, const QStringList &tags)
{
    const auto tombstones = m_orTombstones.find(mapName);
    if (tombstones == m_orTombstones.end())
        return true;
    for (const QString &tag : tags)
        tombstones->remove(tag);
    return true;
}

QStringList MemoryClientStorage::orTombstones(const QString &mapName) const
{
    QStringList tags = m_orTombstones.value(mapName).values();
    std::sort(tags.begin(), tags.end());
    return tags;
}

qint64 MemoryClientStorage::lastSyncTimestamp(const QString &mapName) const
{
    return m_lastSync.value(mapName, 0);
}

bool MemoryClientStorage::setLastSyncTimestamp(const QString &mapName, qint64 millis)
{
    m_lastSync.insert(mapName, millis);
    return true;
}

bool MemoryClientStorage::clearMap(const QString &mapName)
{
    m_lwwRecords.remove(mapName);
    m_orRecords.remove(mapName);
    m_orTombstones.remove(mapName);
    m_lastSync.remove(mapName);
    return true;
}

} // namespace wingman::client

#include "cluster/PartitionTable.h"

#include "crdt/Hash.h"

#include <algorithm>

namespace wingman::cluster {

PartitionTable::PartitionTable(
    qint64 version, QString coordinator, QStringList members, int backupCount, qint64 generatedAt)
    : m_version(version)
    , m_coordinator(std::move(coordinator))
    , m_members(std::move(members))
    , m_generatedAt(generatedAt)
{
    std::sort(m_members.begin(), m_members.end());
    m_members.erase(std::unique(m_members.begin(), m_members.end()), m_members.end());
    m_backupCount = std::clamp(backupCount, 0, std::max<int>(0, int(m_members.size()) - 1));
}

int PartitionTable::partitionOf(QStringView key)
{
    return int(crdt::hash(key) % quint32(kPartitionCount));
}

QString PartitionTable::owner(int partition) const
{
    if (m_members.isEmpty())
        return {};
    return m_members.at(partition % m_members.size());
}

QStringList PartitionTable::backups(int partition) const
{
    QStringList result;
    if (m_members.isEmpty())
        return result;
    const qsizetype n = m_members.size();
    const qsizetype first = partition % n;
    for (int i = 1; i <= m_backupCount; ++i)
        result.append(m_members.at((first + i) % n));
    return result;
}

QStringList PartitionTable::preference(int partition) const
{
    QStringList result;
    const qsizetype n = m_members.size();
    if (n == 0)
        return result;
    const qsizetype first = partition % n;
    for (qsizetype i = 0; i <= m_backupCount; ++i)
        result.append(m_members.at((first + i) % n));
    for (const QString &member : m_members) {
        if (!result.contains(member))
            result.append(member);
    }
    return result;
}

int PartitionTable::ownedBy(const QString &nodeId) const
{
    int count = 0;
    for (int p = 0; p < kPartitionCount; ++p)
        count += owner(p) == nodeId;
    return count;
}

int PartitionTable::backedUpBy(const QString &nodeId) const
{
    int count = 0;
    for (int p = 0; p < kPartitionCount; ++p)
        count += backups(p).contains(nodeId);
    return count;
}

bool PartitionTable::isSupersededBy(const PartitionTable &other) const
{
    if (other.m_version != m_version)
        return other.m_version > m_version;
    return !other.m_coordinator.isEmpty() && other.m_coordinator < m_coordinator;
}

} // namespace wingman::cluster

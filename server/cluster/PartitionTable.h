#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace wingman::cluster {

// Which member owns each of the 271 partitions and which back it up (docs/cluster.md §3). Pure:
// the assignment follows from the member list alone, so every node that adopts the same
// (version, members) computes the same owners.
class PartitionTable
{
public:
    static constexpr int kPartitionCount = 271;

    PartitionTable() = default;
    // members in any order; they are sorted by UTF-16 code unit (QString's operator<, which is
    // JavaScript's default sort). backupCount is capped at members - 1.
    PartitionTable(qint64 version, QString coordinator, QStringList members, int backupCount,
        qint64 generatedAt);

    // hash(key) mod 271 (docs/core.md: FNV-1a over UTF-16).
    static int partitionOf(QStringView key);

    qint64 version() const { return m_version; }
    const QString &coordinator() const { return m_coordinator; }
    const QStringList &members() const { return m_members; }
    int backupCount() const { return m_backupCount; }
    qint64 generatedAt() const { return m_generatedAt; }
    bool isEmpty() const { return m_members.isEmpty(); }

    // Empty when the table has no members.
    QString owner(int partition) const;
    QStringList backups(int partition) const;
    // [owner, backups..., then every other member in sorted order]: the order in which the ack
    // set of a key in this partition is chosen (§4).
    QStringList preference(int partition) const;

    int ownedBy(const QString &nodeId) const;
    int backedUpBy(const QString &nodeId) const;

    // Adopt `other` instead of this one: the higher version wins, a tie goes to the lower
    // coordinator id.
    bool isSupersededBy(const PartitionTable &other) const;

    friend bool operator==(const PartitionTable &, const PartitionTable &) = default;

private:
    qint64 m_version = 0;
    QString m_coordinator;
    QStringList m_members;
    int m_backupCount = 0;
    qint64 m_generatedAt = 0;
};

} // namespace wingman::cluster

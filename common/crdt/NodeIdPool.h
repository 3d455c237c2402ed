#pragma once

#include <QHash>
#include <QList>
#include <QString>

namespace wingman::crdt {

// Interns node ids. A map holds millions of records written by a handful of nodes; records keep
// a 32-bit index (or the pooled QString, which shares one buffer) instead of their own copy.
// Ids are never evicted: the pool grows with the number of distinct writers ever seen.
class NodeIdPool
{
public:
    quint32 indexOf(const QString &nodeId);
    const QString &at(quint32 index) const { return m_ids.at(index); }
    // The pooled copy of nodeId, sharing its buffer with every other record of that node.
    QString intern(const QString &nodeId) { return at(indexOf(nodeId)); }

    qsizetype size() const { return m_ids.size(); }
    void clear();

private:
    QList<QString> m_ids;
    QHash<QString, quint32> m_indexes;
    quint32 m_lastIndex = 0;
};

} // namespace wingman::crdt

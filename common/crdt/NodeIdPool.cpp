#include "crdt/NodeIdPool.h"

namespace wingman::crdt {

quint32 NodeIdPool::indexOf(const QString &nodeId)
{
    // Consecutive records usually come from the same writer.
    if (m_lastIndex < quint32(m_ids.size())) {
        const QString &last = m_ids.at(m_lastIndex);
        if (last.size() == nodeId.size()
            && (last.constData() == nodeId.constData() || last == nodeId))
            return m_lastIndex;
    }
    const auto found = m_indexes.constFind(nodeId);
    if (found != m_indexes.cend()) {
        m_lastIndex = found.value();
        return m_lastIndex;
    }
    // An own, exact-size copy: the caller's string may be raw data or carry spare capacity.
    const QString id(nodeId.constData(), nodeId.size());
    m_lastIndex = quint32(m_ids.size());
    m_ids.append(id);
    m_indexes.insert(id, m_lastIndex);
    return m_lastIndex;
}

void NodeIdPool::clear()
{
    m_ids.clear();
    m_indexes.clear();
    m_lastIndex = 0;
}

} // namespace wingman::crdt

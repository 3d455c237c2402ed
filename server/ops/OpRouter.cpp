#include "ops/OpRouter.h"

namespace wingman::ops {

OpRouter::OpRouter(QString localNodeId)
    : m_localNodeId(std::move(localNodeId))
{ }

OpRouter::Route OpRouter::route(const protocol::ClientOp &op) const
{
    const QString owner = m_ownerOf ? m_ownerOf(op.mapName, op.key) : QString();
    if (owner.isEmpty() || owner == m_localNodeId)
        return { true, m_localNodeId };
    return { false, owner };
}

} // namespace wingman::ops

#include "ops/interceptors/ServerTimestampStamper.h"

#include "crdt/Hlc.h"

namespace wingman::ops {

ServerTimestampStamper::ServerTimestampStamper(crdt::Hlc &hlc)
    : m_hlc(hlc)
{ }

OpVerdict ServerTimestampStamper::onBeforeOp(protocol::ClientOp &op, const ConnectionContext &)
{
    if (op.record)
        op.record->timestamp = m_hlc.now();
    if (op.orRecord)
        op.orRecord->timestamp = m_hlc.now();
    return OpVerdict::proceed();
}

} // namespace wingman::ops

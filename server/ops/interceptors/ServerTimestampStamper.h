#pragma once

#include "ops/Interceptor.h"

namespace wingman::crdt {
class Hlc;
}

namespace wingman::ops {

// Replaces the timestamp of each op's record (LWW record or OR record; the OR tag stays the
// client's, since removals name it) with the node's HLC, so a client whose clock runs ahead
// cannot win every last-writer-wins conflict. TTLs then count from the server's time.
class ServerTimestampStamper : public Interceptor
{
public:
    explicit ServerTimestampStamper(crdt::Hlc &hlc);

    OpVerdict onBeforeOp(protocol::ClientOp &op, const ConnectionContext &context) override;

private:
    crdt::Hlc &m_hlc;
};

} // namespace wingman::ops

#include "ops/Interceptor.h"

namespace wingman::ops {

ConnectionContext ConnectionContext::of(const network::Session &session)
{
    return { session.id(), session.remoteAddress(), session.socket(), session.authState(),
        session.principal() };
}

} // namespace wingman::ops

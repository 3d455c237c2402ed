#include "ops/Interceptor.h"

namespace wingman::ops {

ConnectionContext ConnectionContext::of(const network::ClientConnection &connection)
{
    return { connection.id(), connection.remoteAddress(), connection.socket(),
        connection.authState(), connection.principal() };
}

} // namespace wingman::ops

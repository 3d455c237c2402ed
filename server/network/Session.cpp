#include "network/Session.h"

#include "protocol/LifecycleMessages.h"

namespace wingman::network {

void Session::sendError(protocol::ErrorCode code, const QString &message)
{
    sendError(protocol::toInt(code), message);
}

void Session::sendError(int code, const QString &message)
{
    protocol::ErrorMessage error;
    error.code = code;
    error.message = message;
    sendUrgent(error);
}

} // namespace wingman::network

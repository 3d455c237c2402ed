#include "network/Session.h"

#include "protocol/LifecycleMessages.h"

namespace wingman::network {

QString authStateName(AuthState state)
{
    switch (state) {
    case AuthState::Pending:
        return QStringLiteral("pending");
    case AuthState::Authenticated:
        return QStringLiteral("authenticated");
    case AuthState::Failed:
        return QStringLiteral("failed");
    }
    return {};
}

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

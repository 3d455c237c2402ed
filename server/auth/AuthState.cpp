#include "auth/AuthState.h"

namespace wingman::auth {

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

} // namespace wingman::auth

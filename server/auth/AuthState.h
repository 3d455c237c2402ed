#pragma once

#include <QString>

namespace wingman::auth {

// Where a client connection is in AUTH_REQUIRED → AUTH → AUTH_ACK / AUTH_FAIL.
enum class AuthState { Pending, Authenticated, Failed };
QString authStateName(AuthState state);

} // namespace wingman::auth

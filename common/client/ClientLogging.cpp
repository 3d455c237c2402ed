#include "client/ClientLogging.h"

namespace wingman::client {

Q_LOGGING_CATEGORY(lcClient, "wingman.client")

} // namespace wingman::client

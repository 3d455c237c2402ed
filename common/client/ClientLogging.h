#pragma once

#include <QLoggingCategory>

namespace wingman::client {

// "wingman.client": connection state, sync progress and storage failures of the client.
Q_DECLARE_LOGGING_CATEGORY(lcClient)

} // namespace wingman::client

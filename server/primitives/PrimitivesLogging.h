#pragma once

#include <QLoggingCategory>

namespace wingman::primitives {

// "wingman.primitives": topics, locks and PN counters.
Q_DECLARE_LOGGING_CATEGORY(lcPrimitives)

} // namespace wingman::primitives

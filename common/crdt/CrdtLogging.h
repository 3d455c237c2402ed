#pragma once

#include <QLoggingCategory>

namespace wingman::crdt {

// "wingman.crdt": clock drift and other anomalies seen while merging remote state.
Q_DECLARE_LOGGING_CATEGORY(lcCrdt)

} // namespace wingman::crdt

#include "crdt/CrdtLogging.h"

namespace wingman::crdt {

Q_LOGGING_CATEGORY(lcCrdt, "wingman.crdt")

} // namespace wingman::crdt

#include "primitives/PrimitivesLogging.h"

namespace wingman::primitives {

Q_LOGGING_CATEGORY(lcPrimitives, "wingman.primitives")

} // namespace wingman::primitives

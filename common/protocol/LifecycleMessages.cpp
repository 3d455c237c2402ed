#include "protocol/LifecycleMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using ShutdownPending = TopLevelMessage<ShutdownPendingMessage,
    Field<"retryAfter", &ShutdownPendingMessage::retryAfter>>;

using Error = PayloadMessage<ErrorMessage, Fields<
    Field<"code", &ErrorMessage::code>,
    Field<"message", &ErrorMessage::message>,
    Field<"details", &ErrorMessage::details, AnyValue>>>;

using GcPrune = PayloadMessage<GcPruneMessage, Fields<
    Field<"olderThan", &GcPruneMessage::olderThan>>>;
// clang-format on

} // namespace

WINGMAN_MESSAGE_CODEC(ShutdownPendingMessage, ShutdownPending);
WINGMAN_MESSAGE_CODEC(ErrorMessage, Error);
WINGMAN_MESSAGE_CODEC(GcPruneMessage, GcPrune);

} // namespace wingman::protocol

#include "protocol/ProcessorMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using EntryProcess = TopLevelMessage<EntryProcessMessage,
    Field<"requestId", &EntryProcessMessage::requestId>,
    Field<"mapName", &EntryProcessMessage::mapName>,
    Field<"key", &EntryProcessMessage::key>,
    Field<"processor", &EntryProcessMessage::processor, AnyValue>>;

using EntryProcessBatch = TopLevelMessage<EntryProcessBatchMessage,
    Field<"requestId", &EntryProcessBatchMessage::requestId>,
    Field<"mapName", &EntryProcessBatchMessage::mapName>,
    Field<"keys", &EntryProcessBatchMessage::keys>,
    Field<"processor", &EntryProcessBatchMessage::processor, AnyValue>>;

using EntryProcessResultFields = Fields<
    Field<"success", &EntryProcessResult::success>,
    Field<"result", &EntryProcessResult::result, AnyValue>,
    Field<"newValue", &EntryProcessResult::newValue, AnyValue>,
    Field<"error", &EntryProcessResult::error>>;

using EntryProcessResponse = TopLevelMessage<EntryProcessResponseMessage,
    Field<"requestId", &EntryProcessResponseMessage::requestId>,
    Field<"success", &EntryProcessResponseMessage::success>,
    Field<"result", &EntryProcessResponseMessage::result, AnyValue>,
    Field<"newValue", &EntryProcessResponseMessage::newValue, AnyValue>,
    Field<"error", &EntryProcessResponseMessage::error>>;

using EntryProcessBatchResponse = TopLevelMessage<EntryProcessBatchResponseMessage,
    Field<"requestId", &EntryProcessBatchResponseMessage::requestId>,
    Field<"results", &EntryProcessBatchResponseMessage::results>>;

using RegisterResolver = TopLevelMessage<RegisterResolverMessage,
    Field<"requestId", &RegisterResolverMessage::requestId>,
    Field<"mapName", &RegisterResolverMessage::mapName>,
    Field<"resolver", &RegisterResolverMessage::resolver, AnyValue>>;

using UnregisterResolver = TopLevelMessage<UnregisterResolverMessage,
    Field<"requestId", &UnregisterResolverMessage::requestId>,
    Field<"mapName", &UnregisterResolverMessage::mapName>,
    Field<"resolverName", &UnregisterResolverMessage::resolverName>>;

using RegisterResolverResponse = TopLevelMessage<RegisterResolverResponseMessage,
    Field<"requestId", &RegisterResolverResponseMessage::requestId>,
    Field<"success", &RegisterResolverResponseMessage::success>,
    Field<"error", &RegisterResolverResponseMessage::error>>;

using UnregisterResolverResponse = TopLevelMessage<UnregisterResolverResponseMessage,
    Field<"requestId", &UnregisterResolverResponseMessage::requestId>,
    Field<"success", &UnregisterResolverResponseMessage::success>,
    Field<"error", &UnregisterResolverResponseMessage::error>>;

using ListResolvers = TopLevelMessage<ListResolversMessage,
    Field<"requestId", &ListResolversMessage::requestId>,
    Field<"mapName", &ListResolversMessage::onlyMap>>;

using ResolverInfoFields = Fields<
    Field<"mapName", &ResolverInfo::mapName>,
    Field<"name", &ResolverInfo::name>,
    Field<"priority", &ResolverInfo::priority>,
    Field<"keyPattern", &ResolverInfo::keyPattern>>;

using ListResolversResponse = TopLevelMessage<ListResolversResponseMessage,
    Field<"requestId", &ListResolversResponseMessage::requestId>,
    Field<"resolvers", &ListResolversResponseMessage::resolvers>>;

using MergeRejected = TopLevelMessage<MergeRejectedMessage,
    Field<"mapName", &MergeRejectedMessage::mapName>,
    Field<"key", &MergeRejectedMessage::key>,
    Field<"attemptedValue", &MergeRejectedMessage::attemptedValue, RecordValue>,
    Field<"reason", &MergeRejectedMessage::reason>,
    Field<"timestamp", &MergeRejectedMessage::timestamp>>;
// clang-format on

} // namespace

WINGMAN_MESSAGE_CODEC(EntryProcessMessage, EntryProcess);
WINGMAN_MESSAGE_CODEC(EntryProcessBatchMessage, EntryProcessBatch);
WINGMAN_SHAPE_CODEC(EntryProcessResult, EntryProcessResultFields);
WINGMAN_MESSAGE_CODEC(EntryProcessResponseMessage, EntryProcessResponse);
WINGMAN_MESSAGE_CODEC(EntryProcessBatchResponseMessage, EntryProcessBatchResponse);
WINGMAN_MESSAGE_CODEC(RegisterResolverMessage, RegisterResolver);
WINGMAN_MESSAGE_CODEC(UnregisterResolverMessage, UnregisterResolver);
WINGMAN_MESSAGE_CODEC(RegisterResolverResponseMessage, RegisterResolverResponse);
WINGMAN_MESSAGE_CODEC(UnregisterResolverResponseMessage, UnregisterResolverResponse);
WINGMAN_MESSAGE_CODEC(ListResolversMessage, ListResolvers);
WINGMAN_SHAPE_CODEC(ResolverInfo, ResolverInfoFields);
WINGMAN_MESSAGE_CODEC(ListResolversResponseMessage, ListResolversResponse);
WINGMAN_MESSAGE_CODEC(MergeRejectedMessage, MergeRejected);

} // namespace wingman::protocol

#include "protocol/PrimitiveMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using TopicSub = PayloadMessage<TopicSubMessage, Fields<
    Field<"topic", &TopicSubMessage::topic>>>;

using TopicUnsub = PayloadMessage<TopicUnsubMessage, Fields<
    Field<"topic", &TopicUnsubMessage::topic>>>;

using TopicPub = PayloadMessage<TopicPubMessage, Fields<
    Field<"topic", &TopicPubMessage::topic>,
    Field<"data", &TopicPubMessage::data, AnyValue>>>;

using Topic = PayloadMessage<TopicMessage, Fields<
    Field<"topic", &TopicMessage::topic>,
    Field<"data", &TopicMessage::data, AnyValue>,
    Field<"publisherId", &TopicMessage::publisherId>,
    Field<"timestamp", &TopicMessage::timestamp>>>;

using LockRequest = PayloadMessage<LockRequestMessage, Fields<
    Field<"requestId", &LockRequestMessage::requestId>,
    Field<"name", &LockRequestMessage::name>,
    Field<"ttl", &LockRequestMessage::ttl>>>;

using LockGranted = PayloadMessage<LockGrantedMessage, Fields<
    Field<"requestId", &LockGrantedMessage::requestId>,
    Field<"name", &LockGrantedMessage::name>,
    Field<"fencingToken", &LockGrantedMessage::fencingToken>>>;

using LockRelease = PayloadMessage<LockReleaseMessage, Fields<
    Field<"requestId", &LockReleaseMessage::requestId>,
    Field<"name", &LockReleaseMessage::name>,
    Field<"fencingToken", &LockReleaseMessage::fencingToken>>>;

using LockReleased = PayloadMessage<LockReleasedMessage, Fields<
    Field<"requestId", &LockReleasedMessage::requestId>,
    Field<"name", &LockReleasedMessage::name>,
    Field<"success", &LockReleasedMessage::success>>>;

using CounterRequest = PayloadMessage<CounterRequestMessage, Fields<
    Field<"name", &CounterRequestMessage::name>>>;

using CounterSync = PayloadMessage<CounterSyncMessage, Fields<
    Field<"name", &CounterSyncMessage::name>,
    Field<"state", &CounterSyncMessage::state>>>;

using CounterResponse = PayloadMessage<CounterResponseMessage, Fields<
    Field<"name", &CounterResponseMessage::name>,
    Field<"state", &CounterResponseMessage::state>>>;

using CounterUpdate = PayloadMessage<CounterUpdateMessage, Fields<
    Field<"name", &CounterUpdateMessage::name>,
    Field<"state", &CounterUpdateMessage::state>>>;
// clang-format on

} // namespace

WINGMAN_MESSAGE_CODEC(TopicSubMessage, TopicSub);
WINGMAN_MESSAGE_CODEC(TopicUnsubMessage, TopicUnsub);
WINGMAN_MESSAGE_CODEC(TopicPubMessage, TopicPub);
WINGMAN_MESSAGE_CODEC(TopicMessage, Topic);
WINGMAN_MESSAGE_CODEC(LockRequestMessage, LockRequest);
WINGMAN_MESSAGE_CODEC(LockGrantedMessage, LockGranted);
WINGMAN_MESSAGE_CODEC(LockReleaseMessage, LockRelease);
WINGMAN_MESSAGE_CODEC(LockReleasedMessage, LockReleased);
WINGMAN_MESSAGE_CODEC(CounterRequestMessage, CounterRequest);
WINGMAN_MESSAGE_CODEC(CounterSyncMessage, CounterSync);
WINGMAN_MESSAGE_CODEC(CounterResponseMessage, CounterResponse);
WINGMAN_MESSAGE_CODEC(CounterUpdateMessage, CounterUpdate);

} // namespace wingman::protocol

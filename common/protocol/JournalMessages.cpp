#include "protocol/JournalMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using JournalEventFields = Fields<
    Field<"sequence", &JournalEvent::sequence>,
    Field<"type", &JournalEvent::type>,
    Field<"mapName", &JournalEvent::mapName>,
    Field<"key", &JournalEvent::key>,
    Field<"value", &JournalEvent::value>,
    Field<"previousValue", &JournalEvent::previousValue>,
    Field<"timestamp", &JournalEvent::timestamp>,
    Field<"nodeId", &JournalEvent::nodeId>>;

using JournalSubscribe = TopLevelMessage<JournalSubscribeMessage,
    Field<"requestId", &JournalSubscribeMessage::requestId>,
    Field<"fromSequence", &JournalSubscribeMessage::fromSequence>,
    Field<"mapName", &JournalSubscribeMessage::mapName>,
    Field<"types", &JournalSubscribeMessage::types, Optional<ListOf<TextItem>>>>;

using JournalUnsubscribe = TopLevelMessage<JournalUnsubscribeMessage,
    Field<"subscriptionId", &JournalUnsubscribeMessage::subscriptionId>>;

using JournalEventTable = TopLevelMessage<JournalEventMessage,
    Field<"event", &JournalEventMessage::event, Nested<JournalEventFields>>>;

using JournalRead = TopLevelMessage<JournalReadMessage,
    Field<"requestId", &JournalReadMessage::requestId>,
    Field<"fromSequence", &JournalReadMessage::fromSequence>,
    Field<"limit", &JournalReadMessage::limit>,
    Field<"mapName", &JournalReadMessage::mapName>>;

using JournalReadResponse = TopLevelMessage<JournalReadResponseMessage,
    Field<"requestId", &JournalReadResponseMessage::requestId>,
    Field<"events", &JournalReadResponseMessage::events>,
    Field<"hasMore", &JournalReadResponseMessage::hasMore>>;
// clang-format on

constexpr Name kEvent = "event";
constexpr Name kRequestId = "requestId";
constexpr Name kEvents = "events";
constexpr Name kHasMore = "hasMore";

} // namespace

WINGMAN_SHAPE_CODEC(JournalEvent, JournalEventFields);
WINGMAN_MESSAGE_CODEC(JournalSubscribeMessage, JournalSubscribe);
WINGMAN_MESSAGE_CODEC(JournalUnsubscribeMessage, JournalUnsubscribe);
WINGMAN_MESSAGE_CODEC(JournalEventMessage, JournalEventTable);
WINGMAN_MESSAGE_CODEC(JournalReadMessage, JournalRead);
WINGMAN_MESSAGE_CODEC(JournalReadResponseMessage, JournalReadResponse);

void JournalEvent::write(wire::MsgPackWriter &out) const
{
    JournalEventFields::write(out, *this);
}

QByteArray JournalEventMessage::encode() const
{
    QByteArray bytes;
    wire::MsgPackWriter out(bytes, 256);
    beginMessage(out, kType, 2);
    out.raw(kEvent.key());
    event.write(out);
    out.finish();
    return bytes;
}

QByteArray JournalReadResponseMessage::encode() const
{
    QByteArray bytes;
    wire::MsgPackWriter out(bytes, 64 + events.size() * 192);
    beginMessage(out, kType, 4);
    out.raw(kRequestId.key());
    out.string(requestId);
    out.raw(kEvents.key());
    out.arrayHeader(quint32(events.size()));
    for (const JournalEvent &event : events)
        event.write(out);
    out.raw(kHasMore.key());
    out.boolean(hasMore);
    out.finish();
    return bytes;
}

} // namespace wingman::protocol

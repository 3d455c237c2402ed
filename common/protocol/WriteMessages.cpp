#include "protocol/WriteMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using ClientOpSchema = PayloadMessage<ClientOpMessage, Whole<&ClientOpMessage::op>>;

using OpBatch = PayloadMessage<OpBatchMessage, Fields<
    Field<"ops", &OpBatchMessage::ops>,
    Field<"writeConcern", &OpBatchMessage::writeConcern>,
    Field<"timeout", &OpBatchMessage::timeout>>>;

using OpAck = PayloadMessage<OpAckMessage, Fields<
    Field<"lastId", &OpAckMessage::lastId>,
    Field<"achievedLevel", &OpAckMessage::achievedLevel>,
    Field<"results", &OpAckMessage::results>>>;

using OpRejected = PayloadMessage<OpRejectedMessage, Fields<
    Field<"opId", &OpRejectedMessage::opId>,
    Field<"reason", &OpRejectedMessage::reason>,
    Field<"code", &OpRejectedMessage::code>>>;

using ServerEvent = PayloadMessage<ServerEventMessage, Whole<&ServerEventMessage::event>>;

using ServerBatchEvent = PayloadMessage<ServerBatchEventMessage, Fields<
    Field<"events", &ServerBatchEventMessage::events>>>;
// clang-format on

} // namespace

WINGMAN_MESSAGE_CODEC(ClientOpMessage, ClientOpSchema);
WINGMAN_MESSAGE_CODEC(OpBatchMessage, OpBatch);
WINGMAN_MESSAGE_CODEC(OpAckMessage, OpAck);
WINGMAN_MESSAGE_CODEC(OpRejectedMessage, OpRejected);
WINGMAN_MESSAGE_CODEC(ServerEventMessage, ServerEvent);
WINGMAN_MESSAGE_CODEC(ServerBatchEventMessage, ServerBatchEvent);

QByteArray OpAckMessage::encode() const
{
    return OpAck::encode(*this, 64 + (results ? results->size() * 48 : 0));
}

QByteArray ServerEventMessage::encode() const
{
    return ServerEvent::encode(*this, 192);
}

QByteArray ServerBatchEventMessage::encode() const
{
    return ServerBatchEvent::encode(*this, 64 + events.size() * 160);
}

} // namespace wingman::protocol

#include "protocol/QueryMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using QuerySub = PayloadMessage<QuerySubMessage, Fields<
    Field<"queryId", &QuerySubMessage::queryId>,
    Field<"mapName", &QuerySubMessage::mapName>,
    Field<"query", &QuerySubMessage::query>>>;

using QueryResp = PayloadMessage<QueryRespMessage, Fields<
    Field<"queryId", &QueryRespMessage::queryId>,
    Field<"results", &QueryRespMessage::results>,
    Field<"nextCursor", &QueryRespMessage::nextCursor>,
    Field<"hasMore", &QueryRespMessage::hasMore>,
    Field<"cursorStatus", &QueryRespMessage::cursorStatus>>>;

using QueryUpdate = PayloadMessage<QueryUpdateMessage, Fields<
    Field<"queryId", &QueryUpdateMessage::queryId>,
    Field<"key", &QueryUpdateMessage::key>,
    Field<"value", &QueryUpdateMessage::value, RecordValue>,
    Field<"type", &QueryUpdateMessage::change>>>;

using QueryUnsub = PayloadMessage<QueryUnsubMessage, Fields<
    Field<"queryId", &QueryUnsubMessage::queryId>>>;
// clang-format on

qsizetype updateSizeHint(const QueryUpdateMessage &update, qsizetype valueSize)
{
    return 128 + 3 * (update.queryId.size() + update.key.size()) + valueSize;
}

} // namespace

WINGMAN_MESSAGE_CODEC(QuerySubMessage, QuerySub);
WINGMAN_MESSAGE_CODEC(QueryRespMessage, QueryResp);
WINGMAN_MESSAGE_CODEC(QueryUpdateMessage, QueryUpdate);
WINGMAN_MESSAGE_CODEC(QueryUnsubMessage, QueryUnsub);

QByteArray QueryRespMessage::encode() const
{
    return QueryResp::encode(*this, 128 + results.size() * 64);
}

QByteArray QueryUpdateMessage::encode() const
{
    return QueryUpdate::encode(*this, updateSizeHint(*this, 64));
}

QByteArray QueryUpdateMessage::encode(QByteArrayView encodedValue) const
{
    return QueryUpdate::encode(
        *this, updateSizeHint(*this, encodedValue.size()), Packed<"value"> { encodedValue });
}

} // namespace wingman::protocol

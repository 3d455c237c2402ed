#include "protocol/QueryMessages.h"

#include "protocol/MessageFields.h"
#include "protocol/MsgPackWriter.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

std::optional<QuerySubMessage> QuerySubMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    QuerySubMessage result;
    if (!fields.string("queryId"_L1, result.queryId) || !fields.string("mapName"_L1, result.mapName)
        || !fields.map("query"_L1, result.query)) {
        return std::nullopt;
    }
    return result;
}

QCborMap QuerySubMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("queryId"_L1, queryId);
    payload.insert("mapName"_L1, mapName);
    payload.insert("query"_L1, query);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    return message;
}

std::optional<QueryRespMessage> QueryRespMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    QueryRespMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("queryId"_L1, result.queryId)
        || !readList(fields, "results"_L1, result.results)
        || !fields.optionalString("nextCursor"_L1, result.nextCursor)
        || !fields.optionalBoolean("hasMore"_L1, result.hasMore)
        || !fields.optionalString("cursorStatus"_L1, result.cursorStatus)) {
        return std::nullopt;
    }
    return result;
}

QCborMap QueryRespMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("queryId"_L1, queryId);
    payload.insert("results"_L1, listToCbor(results));
    if (nextCursor)
        payload.insert("nextCursor"_L1, *nextCursor);
    if (hasMore)
        payload.insert("hasMore"_L1, *hasMore);
    if (cursorStatus)
        payload.insert("cursorStatus"_L1, *cursorStatus);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<QueryUpdateMessage> QueryUpdateMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    QueryUpdateMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("queryId"_L1, result.queryId) || !fields.string("key"_L1, result.key)
        || !readEnum(fields, "type"_L1, queryChangeFromName, result.change)) {
        return std::nullopt;
    }
    const QCborValue value = fields.value("value"_L1);
    result.value = value.isUndefined() ? QCborValue(nullptr) : value;
    return result;
}

QCborMap QueryUpdateMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("queryId"_L1, queryId);
    payload.insert("key"_L1, key);
    payload.insert("value"_L1, value.isUndefined() ? QCborValue(nullptr) : value);
    payload.insert("type"_L1, queryChangeName(change));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

QByteArray QueryUpdateMessage::encode() const
{
    QByteArray value;
    MsgPackWriter(value).recordValue(this->value);
    return encode(value);
}

QByteArray QueryUpdateMessage::encode(QByteArrayView encodedValue) const
{
    QByteArray bytes;
    MsgPackWriter out(bytes, 128 + 3 * (queryId.size() + key.size()) + encodedValue.size());
    beginMessage(out, kType, 2, envelopeTimestamp);
    out.latin1("payload"_L1);
    out.mapHeader(4);
    out.latin1("queryId"_L1);
    out.string(queryId);
    out.latin1("key"_L1);
    out.string(key);
    out.latin1("value"_L1);
    out.raw(encodedValue);
    out.latin1("type"_L1);
    out.latin1(queryChangeName(change));
    endMessage(out, envelopeTimestamp);
    out.finish();
    return bytes;
}

std::optional<QueryUnsubMessage> QueryUnsubMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    QueryUnsubMessage result;
    if (!fields.string("queryId"_L1, result.queryId))
        return std::nullopt;
    return result;
}

QCborMap QueryUnsubMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("queryId"_L1, queryId);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    return message;
}

} // namespace wingman::protocol

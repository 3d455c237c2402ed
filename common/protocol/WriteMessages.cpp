#include "protocol/WriteMessages.h"

#include "protocol/MessageFields.h"
#include "protocol/MsgPackWriter.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

std::optional<ClientOpMessage> ClientOpMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    std::optional<ClientOp> op = ClientOp::fromCbor(payload, error, FieldPath(root, "payload"_L1));
    if (!op)
        return std::nullopt;
    return ClientOpMessage { std::move(*op) };
}

QCborMap ClientOpMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, op.toCbor());
    return message;
}

std::optional<OpBatchMessage> OpBatchMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    if (!readPayload(top, kType, payload))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    OpBatchMessage result;
    if (!readList(fields, "ops"_L1, result.ops)
        || !readOptionalEnum(fields, "writeConcern"_L1, writeConcernFromName, result.writeConcern)
        || !fields.optionalInteger("timeout"_L1, result.timeout)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OpBatchMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("ops"_L1, listToCbor(ops));
    if (writeConcern)
        payload.insert("writeConcern"_L1, writeConcernName(*writeConcern));
    if (timeout)
        payload.insert("timeout"_L1, *timeout);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    return message;
}

std::optional<OpAckMessage> OpAckMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    OpAckMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("lastId"_L1, result.lastId)
        || !readOptionalEnum(fields, "achievedLevel"_L1, writeConcernFromName, result.achievedLevel)
        || !readOptionalList(fields, "results"_L1, result.results)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OpAckMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("lastId"_L1, lastId);
    if (achievedLevel)
        payload.insert("achievedLevel"_L1, writeConcernName(*achievedLevel));
    if (results)
        payload.insert("results"_L1, listToCbor(*results));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

QByteArray OpAckMessage::encode() const
{
    QByteArray bytes;
    MsgPackWriter out(bytes, 64 + (results ? results->size() * 48 : 0));
    beginMessage(out, kType, 2, envelopeTimestamp);
    out.latin1("payload"_L1);
    out.mapHeader(1 + (achievedLevel ? 1 : 0) + (results ? 1 : 0));
    out.latin1("lastId"_L1);
    out.string(lastId);
    if (achievedLevel) {
        out.latin1("achievedLevel"_L1);
        out.latin1(writeConcernName(*achievedLevel));
    }
    if (results) {
        out.latin1("results"_L1);
        out.arrayHeader(quint32(results->size()));
        for (const OpResult &result : *results)
            result.write(out);
    }
    endMessage(out, envelopeTimestamp);
    out.finish();
    return bytes;
}

std::optional<OpRejectedMessage> OpRejectedMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    OpRejectedMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.string("opId"_L1, result.opId) || !fields.string("reason"_L1, result.reason)
        || !fields.optionalInteger("code"_L1, result.code)) {
        return std::nullopt;
    }
    return result;
}

QCborMap OpRejectedMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("opId"_L1, opId);
    payload.insert("reason"_L1, reason);
    if (code)
        payload.insert("code"_L1, *code);
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<ServerEventMessage> ServerEventMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    ServerEventMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    std::optional<ServerEventPayload> event
        = ServerEventPayload::fromCbor(payload, error, FieldPath(root, "payload"_L1));
    if (!event)
        return std::nullopt;
    result.event = std::move(*event);
    return result;
}

QCborMap ServerEventMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, event.toCbor());
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

QByteArray ServerEventMessage::encode() const
{
    QByteArray bytes;
    MsgPackWriter out(bytes, 192);
    beginMessage(out, kType, 2, envelopeTimestamp);
    out.latin1("payload"_L1);
    event.write(out);
    endMessage(out, envelopeTimestamp);
    out.finish();
    return bytes;
}

std::optional<ServerBatchEventMessage> ServerBatchEventMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    ServerBatchEventMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!readList(fields, "events"_L1, result.events))
        return std::nullopt;
    return result;
}

QCborMap ServerBatchEventMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("events"_L1, listToCbor(events));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

QByteArray ServerBatchEventMessage::encode() const
{
    QByteArray bytes;
    MsgPackWriter out(bytes, 64 + events.size() * 160);
    beginMessage(out, kType, 2, envelopeTimestamp);
    out.latin1("payload"_L1);
    out.mapHeader(1);
    out.latin1("events"_L1);
    out.arrayHeader(quint32(events.size()));
    for (const ServerEventPayload &event : events)
        event.write(out);
    endMessage(out, envelopeTimestamp);
    out.finish();
    return bytes;
}

} // namespace wingman::protocol

#include "protocol/LifecycleMessages.h"

#include "protocol/MessageFields.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

std::optional<ShutdownPendingMessage> ShutdownPendingMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    ShutdownPendingMessage result;
    if (!top.type(messageTypeName(kType)) || !top.integer("retryAfter"_L1, result.retryAfter)
        || !readEnvelopeTimestamp(top, result.envelopeTimestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap ShutdownPendingMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("retryAfter"_L1, retryAfter);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<ErrorMessage> ErrorMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    ErrorMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!fields.integer("code"_L1, result.code) || !fields.string("message"_L1, result.message))
        return std::nullopt;
    result.details = fields.value("details"_L1);
    return result;
}

QCborMap ErrorMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("code"_L1, code);
    payload.insert("message"_L1, message);
    if (!details.isUndefined())
        payload.insert("details"_L1, details);
    QCborMap out = startMessage(kType);
    out.insert("payload"_L1, payload);
    putEnvelopeTimestamp(out, envelopeTimestamp);
    return out;
}

std::optional<GcPruneMessage> GcPruneMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    QCborMap payload;
    GcPruneMessage result;
    if (!readPayload(top, kType, payload) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    const FieldReader fields(payload, FieldPath(root, "payload"_L1), error);
    if (!readTimestamp(fields, "olderThan"_L1, result.olderThan))
        return std::nullopt;
    return result;
}

QCborMap GcPruneMessage::toCbor() const
{
    QCborMap payload;
    payload.insert("olderThan"_L1, timestampToCbor(olderThan));
    QCborMap message = startMessage(kType);
    message.insert("payload"_L1, payload);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

} // namespace wingman::protocol

#include "protocol/AuthMessages.h"

#include "protocol/MessageFields.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace fields;

std::optional<AuthRequiredMessage> AuthRequiredMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    AuthRequiredMessage result;
    if (!top.type(messageTypeName(kType)) || !readEnvelopeTimestamp(top, result.envelopeTimestamp))
        return std::nullopt;
    return result;
}

QCborMap AuthRequiredMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<AuthMessage> AuthMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    const FieldReader top(message, root, error);
    AuthMessage result;
    if (!top.type(messageTypeName(kType))
        || !top.optionalInteger("protocolVersion"_L1, result.protocolVersion)) {
        return std::nullopt;
    }
    const QCborValue payload = top.value("payload"_L1);
    if (isAbsent(top.value("token"_L1)) && payload.isMap()) {
        const FieldReader inner(payload.toMap(), FieldPath(root, "payload"_L1), error);
        if (!inner.string("token"_L1, result.token))
            return std::nullopt;
        return result;
    }
    if (!top.string("token"_L1, result.token))
        return std::nullopt;
    return result;
}

QCborMap AuthMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("token"_L1, token);
    if (protocolVersion)
        message.insert("protocolVersion"_L1, *protocolVersion);
    return message;
}

std::optional<AuthAckMessage> AuthAckMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    AuthAckMessage result;
    if (!top.type(messageTypeName(kType))
        || !top.optionalInteger("protocolVersion"_L1, result.protocolVersion)
        || !readEnvelopeTimestamp(top, result.envelopeTimestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap AuthAckMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    if (protocolVersion)
        message.insert("protocolVersion"_L1, *protocolVersion);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<AuthFailMessage> AuthFailMessage::fromCbor(
    const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    AuthFailMessage result;
    if (!top.type(messageTypeName(kType)) || !top.string("error"_L1, result.error)
        || !readEnvelopeTimestamp(top, result.envelopeTimestamp)) {
        return std::nullopt;
    }
    return result;
}

QCborMap AuthFailMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("error"_L1, error);
    putEnvelopeTimestamp(message, envelopeTimestamp);
    return message;
}

std::optional<PingMessage> PingMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    PingMessage result;
    if (!top.type(messageTypeName(kType)) || !top.optionalInteger("timestamp"_L1, result.timestamp))
        return std::nullopt;
    return result;
}

QCborMap PingMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    if (timestamp)
        message.insert("timestamp"_L1, *timestamp);
    return message;
}

std::optional<PongMessage> PongMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldReader top(message, FieldPath(), error);
    PongMessage result;
    if (!top.type(messageTypeName(kType)) || !top.integer("serverTime"_L1, result.serverTime))
        return std::nullopt;
    return result;
}

QCborMap PongMessage::toCbor() const
{
    QCborMap message = startMessage(kType);
    message.insert("serverTime"_L1, serverTime);
    return message;
}

} // namespace wingman::protocol

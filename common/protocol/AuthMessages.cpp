#include "protocol/AuthMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace Qt::StringLiterals;
using namespace schema;

namespace {

using AuthRequired = TopLevelMessage<AuthRequiredMessage>;

using AuthToken = Field<"token", &AuthMessage::token>;
using AuthVersion = Field<"protocolVersion", &AuthMessage::protocolVersion>;
using Auth = TopLevelMessage<AuthMessage, AuthToken, AuthVersion>;

using AuthAck
    = TopLevelMessage<AuthAckMessage, Field<"protocolVersion", &AuthAckMessage::protocolVersion>>;

using AuthFail = TopLevelMessage<AuthFailMessage, Field<"error", &AuthFailMessage::error>>;

using Ping = TopLevelMessage<PingMessage, Field<"timestamp", &PingMessage::timestamp>>;

using Pong = TopLevelMessage<PongMessage, Field<"serverTime", &PongMessage::serverTime>>;

} // namespace

WINGMAN_MESSAGE_CODEC(AuthRequiredMessage, AuthRequired);

// The token is read from payload.token when there is no top-level one and a payload map.
std::optional<AuthMessage> AuthMessage::fromCbor(const QCborMap &message, DecodeError *error)
{
    const FieldPath root;
    AuthMessage result;
    if (!readType(message, kType, error) || !AuthVersion::read(message, result, error, root))
        return std::nullopt;
    const QCborValue payload = message.value("payload"_L1);
    const bool inPayload = isAbsent(message.value(AuthToken::name)) && payload.isMap();
    const bool read = inPayload
        ? AuthToken::read(payload.toMap(), result, error, FieldPath(root, "payload"_L1))
        : AuthToken::read(message, result, error, root);
    if (!read)
        return std::nullopt;
    return result;
}

QCborMap AuthMessage::toCbor() const
{
    return Auth::toCbor(*this);
}

WINGMAN_MESSAGE_CODEC(AuthAckMessage, AuthAck);
WINGMAN_MESSAGE_CODEC(AuthFailMessage, AuthFail);
WINGMAN_MESSAGE_CODEC(PingMessage, Ping);
WINGMAN_MESSAGE_CODEC(PongMessage, Pong);

} // namespace wingman::protocol

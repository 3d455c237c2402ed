#pragma once

#include <QWebSocketProtocol>

namespace wingman::protocol {

// ERROR payload.code and OP_REJECTED code (docs/protocol.md "Errors"): HTTP-like numbers.
enum class ErrorCode : int {
    BadRequest = 400,
    Forbidden = 403,
    Conflict = 409, // the map exists as the other CRDT kind
    TooManyRequests = 429,
    Internal = 500,
    Unavailable = 503, // a feature that is off
};

constexpr int toInt(ErrorCode code)
{
    return int(code);
}

// The WebSocket close codes the server sends; 4000-4999 are the application's own.
enum class CloseCode : quint16 {
    Normal = 1000,
    GoingAway = 1001,
    ProtocolError = 1002,
    MessageTooBig = 1009,
    TryAgainLater = 1013, // over a connection limit: the node is busy, not the client wrong
    ConnectionRejected = 4000,
    Unauthorized = 4001, // also "Auth timeout": no AUTH within authTimeoutMs
    SlowConsumer = 4002,
    Forbidden = 4003,
    NotFound = 4004,
};

constexpr QWebSocketProtocol::CloseCode toWebSocket(CloseCode code)
{
    return QWebSocketProtocol::CloseCode(quint16(code));
}

} // namespace wingman::protocol

#pragma once

#include "client/ClientLogging.h"
#include "protocol/Enums.h"
#include "protocol/Wire.h"

#include <QCborMap>

#include <optional>

namespace wingman::client {

// A server message of a known type decoded as Message; a malformed one is logged and ignored
// (the client has no one to answer).
template <typename Message> std::optional<Message> decodeAs(const QCborMap &message)
{
    protocol::DecodeError error;
    std::optional<Message> decoded = Message::fromCbor(message, &error);
    if (!decoded) {
        qCWarning(lcClient) << "ignoring malformed" << protocol::messageTypeName(Message::kType)
                            << "message:" << error.field << error.reason;
    }
    return decoded;
}

} // namespace wingman::client

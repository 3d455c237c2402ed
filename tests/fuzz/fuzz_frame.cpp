// A client's WebSocket frame as network::MessageRouter::dispatch reads it: Frame::decode
// (MessagePack, else JSON), the type looked up, then the typed decoder of every row of
// server/MessageTable.h. A message that decodes must encode and decode again.
#include "FuzzSupport.h"

#include "MessageTable.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"
#include "protocol/OpBatchDecoder.h"

using namespace wingman;

namespace {

template <typename Message> void decodeAs(const QCborMap &message)
{
    protocol::DecodeError error;
    const std::optional<Message> decoded = Message::fromCbor(message, &error);
    if constexpr (requires { decoded->toCbor(); }) {
        if (!decoded)
            return;
        const QByteArray encoded = protocol::Frame::encode(decoded->toCbor());
        const protocol::FrameDecodeResult again = protocol::Frame::decode(encoded);
        fuzz::require(again.ok(), "an encoded message decodes as a frame");
        fuzz::require(Message::fromCbor(again.message, &error).has_value(),
            "an encoded message decodes as its type");
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::silenceLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(fuzz::bytesOf(data, size));
    if (!decoded.ok())
        return 0;
    const std::optional<protocol::MessageType> type = protocol::messageTypeFromName(decoded.type);
    if (!type)
        return 0;
    switch (*type) {
#define WINGMAN_FUZZ_DECODE(type, Message, access, permission, handler)                            \
    case protocol::MessageType::type:                                                              \
        decodeAs<Message>(decoded.message);                                                        \
        break;
        WINGMAN_CLIENT_MESSAGES(WINGMAN_FUZZ_DECODE)
#undef WINGMAN_FUZZ_DECODE
    default:
        break;
    }
    return 0;
}

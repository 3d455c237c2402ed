// CLIENT_OP and OP_BATCH frames as an authenticated session's network::MessageRouter reads them:
// OpBatchDecoder first, the generic Frame::decode + DecodedOps::fromCbor when it declines. The
// fast decoder promises the generic result exactly, so every frame it takes is decoded both ways
// and compared.
#include "FuzzSupport.h"

#include "protocol/Frame.h"
#include "protocol/OpBatchDecoder.h"

using namespace wingman;

namespace {

std::optional<protocol::DecodedOps> decodeGeneric(QByteArrayView frame)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (!decoded.ok())
        return std::nullopt;
    protocol::DecodeError error;
    return protocol::DecodedOps::fromCbor(decoded.message, &error);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::silenceLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView frame = fuzz::bytesOf(data, size);
    protocol::OpBatchDecoder decoder;
    const std::optional<protocol::DecodedOps> fast = decoder.decode(frame);
    const std::optional<protocol::DecodedOps> generic = decodeGeneric(frame);
    if (!fast)
        return 0;
    fuzz::require(generic.has_value(), "a frame OpBatchDecoder takes decodes the generic way");
    fuzz::require(fast->type == generic->type, "both decoders give the same message type");
    fuzz::require(fast->ops == generic->ops, "both decoders give the same ops");
    for (qsizetype i = 0; i < fast->ops.size(); ++i) {
        fuzz::require(fast->isInvalid(i) == generic->isInvalid(i)
                && fast->invalid.value(i) == generic->invalid.value(i),
            "both decoders refuse the same ops");
    }
    fuzz::require(fast->writeConcern == generic->writeConcern, "same write concern");
    fuzz::require(fast->timeout == generic->timeout, "same timeout");
    // The decoder reuses the strings of the previous frame: a second pass must read the same.
    const std::optional<protocol::DecodedOps> again = decoder.decode(frame);
    fuzz::require(again && again->ops == fast->ops, "a repeated frame decodes the same");
    return 0;
}

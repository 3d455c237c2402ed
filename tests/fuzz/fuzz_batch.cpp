// The BATCH container as SyncEngine::handleFrame reads a server frame: Frame::decode, then
// BatchContainer::decode and Frame::decode of every message inside. The input is also taken as a
// bare `data` payload. A container that decodes is canonical: encoding its messages gives the
// same bytes back.
#include "FuzzSupport.h"

#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

using namespace wingman;

namespace {

void decodeMessages(const protocol::BatchDecodeResult &batch)
{
    for (const QByteArray &inner : batch.messages)
        protocol::Frame::decode(inner);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::silenceLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input = fuzz::bytesOf(data, size);

    const protocol::BatchDecodeResult bare = protocol::BatchContainer::decodeData(input);
    if (bare.ok) {
        fuzz::require(protocol::BatchContainer::encodeData(bare.messages) == input,
            "a decoded BATCH payload encodes to the same bytes");
        decodeMessages(bare);
    }

    const protocol::FrameDecodeResult frame = protocol::Frame::decode(input);
    if (!frame.ok() || frame.type != QLatin1StringView("BATCH"))
        return 0;
    const protocol::BatchDecodeResult batch = protocol::BatchContainer::decode(frame.message);
    if (!batch.ok)
        return 0;
    const protocol::FrameDecodeResult again
        = protocol::Frame::decode(protocol::BatchContainer::encode(batch.messages));
    fuzz::require(again.ok(), "an encoded BATCH decodes as a frame");
    const protocol::BatchDecodeResult batchAgain = protocol::BatchContainer::decode(again.message);
    fuzz::require(batchAgain.ok && batchAgain.messages == batch.messages,
        "an encoded BATCH decodes to the same messages");
    decodeMessages(batch);
    return 0;
}

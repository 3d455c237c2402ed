// A peer's byte stream on the cluster port, as PeerLink reads it: PeerFrameReader splits the
// length-prefixed frames and peeks their type, then each body goes to the decoder its type has
// on a node: REPLICATE through the fast OpBatchDecoder path and the generic one (which must
// agree), REPLICATE_ACK, and the generic MessagePack decode every other frame gets.
#include "FuzzSupport.h"

#include "cluster/PeerFrameReader.h"
#include "cluster/ReplicationFrames.h"
#include "protocol/OpBatchDecoder.h"
#include "wire/MsgPackCodec.h"

using namespace wingman;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::silenceLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cluster::PeerFrameReader reader;
    protocol::OpBatchDecoder fast;
    // Delivered in two reads, as a socket may split it.
    const QByteArrayView input = fuzz::bytesOf(data, size);
    reader.append(input.first(input.size() / 2));
    reader.append(input.sliced(input.size() / 2));
    for (;;) {
        const cluster::PeerFrameReader::Frame frame = reader.next();
        if (frame.status != cluster::PeerFrameReader::Frame::Ok)
            break;
        fuzz::require(frame.type == cluster::PeerFrameReader::peekType(frame.body),
            "a frame's type is its body's");
        if (frame.type == cluster::replication::kReplicate) {
            QString error;
            const auto viaFast = cluster::replication::decodeReplicate(frame.body, &error, &fast);
            const auto generic = cluster::replication::decodeReplicate(frame.body, &error);
            if (viaFast) {
                fuzz::require(generic.has_value(), "a REPLICATE the fast path takes decodes");
                fuzz::require(viaFast->seq == generic->seq, "both paths read the same seq");
                fuzz::require(
                    viaFast->changes == generic->changes, "both paths read the same changes");
            }
        } else if (frame.type == cluster::replication::kReplicateAck) {
            cluster::replication::decodeAck(frame.body);
        } else {
            wire::MsgPackCodec::decode(frame.body);
        }
    }
    return 0;
}

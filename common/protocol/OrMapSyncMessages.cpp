#include "protocol/OrMapSyncMessages.h"

#include "protocol/SyncSchemas.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using OrMapSyncInit = TopLevelMessage<OrMapSyncInitMessage,
    Field<"mapName", &OrMapSyncInitMessage::mapName>,
    Field<"rootHash", &OrMapSyncInitMessage::rootHash>,
    Field<"bucketHashes", &OrMapSyncInitMessage::bucketHashes>,
    Field<"lastSyncTimestamp", &OrMapSyncInitMessage::lastSyncTimestamp>>;

using OrMapSyncRespLeaf = PayloadMessage<OrMapSyncRespLeafMessage, Fields<
    Field<"mapName", &OrMapSyncRespLeafMessage::mapName>,
    Field<"entries", &OrMapSyncRespLeafMessage::entries>,
    Field<"path", &OrMapSyncRespLeafMessage::path>>>;

using OrMapDiffRequest = PayloadMessage<OrMapDiffRequestMessage, Fields<
    Field<"mapName", &OrMapDiffRequestMessage::mapName>,
    Field<"keys", &OrMapDiffRequestMessage::keys>>>;

// ORMAP_DIFF_RESPONSE and ORMAP_PUSH_DIFF: the same payload, the response with an envelope.
template <typename M>
using EntriesSchema = PayloadMessage<M, Fields<
    Field<"mapName", &M::mapName>,
    Field<"entries", &M::entries>>>;
// clang-format on

} // namespace

WINGMAN_MESSAGE_CODEC(OrMapSyncInitMessage, OrMapSyncInit);
WINGMAN_MESSAGE_CODEC(OrMapSyncRespRootMessage, RootSchema<OrMapSyncRespRootMessage>);
WINGMAN_MESSAGE_CODEC(
    OrMapMerkleReqBucketMessage, BucketRequestSchema<OrMapMerkleReqBucketMessage>);
WINGMAN_MESSAGE_CODEC(OrMapSyncRespBucketsMessage, BucketsSchema<OrMapSyncRespBucketsMessage>);
WINGMAN_MESSAGE_CODEC(OrMapSyncRespLeafMessage, OrMapSyncRespLeaf);
WINGMAN_MESSAGE_CODEC(OrMapDiffRequestMessage, OrMapDiffRequest);
WINGMAN_MESSAGE_CODEC(OrMapDiffResponseMessage, EntriesSchema<OrMapDiffResponseMessage>);
WINGMAN_MESSAGE_CODEC(OrMapPushDiffMessage, EntriesSchema<OrMapPushDiffMessage>);

} // namespace wingman::protocol

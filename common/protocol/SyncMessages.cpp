#include "protocol/SyncMessages.h"

#include "protocol/SyncSchemas.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using SyncInit = TopLevelMessage<SyncInitMessage,
    Field<"mapName", &SyncInitMessage::mapName>,
    Field<"lastSyncTimestamp", &SyncInitMessage::lastSyncTimestamp>>;

using SyncRespLeaf = PayloadMessage<SyncRespLeafMessage, Fields<
    Field<"mapName", &SyncRespLeafMessage::mapName>,
    Field<"path", &SyncRespLeafMessage::path>,
    Field<"records", &SyncRespLeafMessage::records>>>;

using SyncResetRequired = PayloadMessage<SyncResetRequiredMessage, Fields<
    Field<"mapName", &SyncResetRequiredMessage::mapName>,
    Field<"reason", &SyncResetRequiredMessage::reason>>>;
// clang-format on

} // namespace

WINGMAN_MESSAGE_CODEC(SyncInitMessage, SyncInit);
WINGMAN_MESSAGE_CODEC(SyncRespRootMessage, RootSchema<SyncRespRootMessage>);
WINGMAN_MESSAGE_CODEC(MerkleReqBucketMessage, BucketRequestSchema<MerkleReqBucketMessage>);
WINGMAN_MESSAGE_CODEC(SyncRespBucketsMessage, BucketsSchema<SyncRespBucketsMessage>);
WINGMAN_MESSAGE_CODEC(SyncRespLeafMessage, SyncRespLeaf);
WINGMAN_MESSAGE_CODEC(SyncResetRequiredMessage, SyncResetRequired);

QByteArray SyncRespLeafMessage::encode() const
{
    return SyncRespLeaf::encode(*this, 128 + 96 * records.size());
}

} // namespace wingman::protocol

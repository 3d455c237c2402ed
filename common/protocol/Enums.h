#pragma once

#include <QLatin1StringView>
#include <QStringView>

#include <optional>

namespace wingman::protocol {

// Every message `type` of docs/protocol.md that Wingman has a typed form for.
enum class MessageType {
    AuthRequired,
    Auth,
    AuthAck,
    AuthFail,
    Ping,
    Pong,
    ClientOp,
    OpBatch,
    OpAck,
    OpRejected,
    ServerEvent,
    ServerBatchEvent,
    Batch,
    QuerySub,
    QueryResp,
    QueryUpdate,
    QueryUnsub,
    SyncInit,
    SyncRespRoot,
    MerkleReqBucket,
    SyncRespBuckets,
    SyncRespLeaf,
    SyncResetRequired,
    OrMapSyncInit,
    OrMapSyncRespRoot,
    OrMapMerkleReqBucket,
    OrMapSyncRespBuckets,
    OrMapSyncRespLeaf,
    OrMapDiffRequest,
    OrMapDiffResponse,
    OrMapPushDiff,
    ShutdownPending,
    Error,
    GcPrune,
    Search,
    SearchResp,
    SearchSub,
    SearchUpdate,
    SearchUnsub,
    TopicSub,
    TopicUnsub,
    TopicPub,
    TopicMessage,
    LockRequest,
    LockGranted,
    LockRelease,
    LockReleased,
    CounterRequest,
    CounterResponse,
    CounterSync,
    CounterUpdate,
    PartitionMapRequest,
    PartitionMap,
    EntryProcess,
    EntryProcessResponse,
    EntryProcessBatch,
    EntryProcessBatchResponse,
    RegisterResolver,
    RegisterResolverResponse,
    UnregisterResolver,
    UnregisterResolverResponse,
    ListResolvers,
    ListResolversResponse,
    MergeRejected,
    JournalSubscribe,
    JournalUnsubscribe,
    JournalEvent,
    JournalRead,
    JournalReadResponse,
};

// The wire name ("OP_BATCH"); messageTypeFromName is its inverse, nullopt for unknown names.
QLatin1StringView messageTypeName(MessageType type);
std::optional<MessageType> messageTypeFromName(QStringView name);

enum class WriteConcern { FireAndForget, Memory, Applied, Replicated, Persisted };
QLatin1StringView writeConcernName(WriteConcern concern);
std::optional<WriteConcern> writeConcernFromName(QStringView name);

enum class OpType { Put, Remove, OrAdd, OrRemove };
QLatin1StringView opTypeName(OpType type);
std::optional<OpType> opTypeFromName(QStringView name);

// SERVER_EVENT eventType; Updated is what TTL expiry sends with the tombstone record.
enum class ServerEventType { Put, Remove, OrAdd, OrRemove, Updated };
QLatin1StringView serverEventTypeName(ServerEventType type);
std::optional<ServerEventType> serverEventTypeFromName(QStringView name);

// QUERY_UPDATE payload.type.
enum class QueryChange { Enter, Update, Remove };
QLatin1StringView queryChangeName(QueryChange change);
std::optional<QueryChange> queryChangeFromName(QStringView name);

// SEARCH_UPDATE payload.type.
enum class SearchChange { Enter, Update, Leave };
QLatin1StringView searchChangeName(SearchChange change);
std::optional<SearchChange> searchChangeFromName(QStringView name);

// The same for generic code, for exactly the enums above.
template <typename Enum> QLatin1StringView enumName(Enum value);
template <typename Enum> std::optional<Enum> enumFromName(QStringView name);

} // namespace wingman::protocol

#include "protocol/Enums.h"

#include <utility>

namespace wingman::protocol {

using namespace Qt::StringLiterals;

namespace {

template <typename Enum> using NameTable = std::pair<Enum, QLatin1StringView>;

// In enum order, so that a name is found by index.
constexpr NameTable<MessageType> kMessageTypes[] = {
    { MessageType::AuthRequired, "AUTH_REQUIRED"_L1 },
    { MessageType::Auth, "AUTH"_L1 },
    { MessageType::AuthAck, "AUTH_ACK"_L1 },
    { MessageType::AuthFail, "AUTH_FAIL"_L1 },
    { MessageType::Ping, "PING"_L1 },
    { MessageType::Pong, "PONG"_L1 },
    { MessageType::ClientOp, "CLIENT_OP"_L1 },
    { MessageType::OpBatch, "OP_BATCH"_L1 },
    { MessageType::OpAck, "OP_ACK"_L1 },
    { MessageType::OpRejected, "OP_REJECTED"_L1 },
    { MessageType::ServerEvent, "SERVER_EVENT"_L1 },
    { MessageType::ServerBatchEvent, "SERVER_BATCH_EVENT"_L1 },
    { MessageType::Batch, "BATCH"_L1 },
    { MessageType::QuerySub, "QUERY_SUB"_L1 },
    { MessageType::QueryResp, "QUERY_RESP"_L1 },
    { MessageType::QueryUpdate, "QUERY_UPDATE"_L1 },
    { MessageType::QueryUnsub, "QUERY_UNSUB"_L1 },
    { MessageType::SyncInit, "SYNC_INIT"_L1 },
    { MessageType::SyncRespRoot, "SYNC_RESP_ROOT"_L1 },
    { MessageType::MerkleReqBucket, "MERKLE_REQ_BUCKET"_L1 },
    { MessageType::SyncRespBuckets, "SYNC_RESP_BUCKETS"_L1 },
    { MessageType::SyncRespLeaf, "SYNC_RESP_LEAF"_L1 },
    { MessageType::SyncResetRequired, "SYNC_RESET_REQUIRED"_L1 },
    { MessageType::OrMapSyncInit, "ORMAP_SYNC_INIT"_L1 },
    { MessageType::OrMapSyncRespRoot, "ORMAP_SYNC_RESP_ROOT"_L1 },
    { MessageType::OrMapMerkleReqBucket, "ORMAP_MERKLE_REQ_BUCKET"_L1 },
    { MessageType::OrMapSyncRespBuckets, "ORMAP_SYNC_RESP_BUCKETS"_L1 },
    { MessageType::OrMapSyncRespLeaf, "ORMAP_SYNC_RESP_LEAF"_L1 },
    { MessageType::OrMapDiffRequest, "ORMAP_DIFF_REQUEST"_L1 },
    { MessageType::OrMapDiffResponse, "ORMAP_DIFF_RESPONSE"_L1 },
    { MessageType::OrMapPushDiff, "ORMAP_PUSH_DIFF"_L1 },
    { MessageType::ShutdownPending, "SHUTDOWN_PENDING"_L1 },
    { MessageType::Error, "ERROR"_L1 },
    { MessageType::GcPrune, "GC_PRUNE"_L1 },
    { MessageType::Search, "SEARCH"_L1 },
    { MessageType::SearchResp, "SEARCH_RESP"_L1 },
    { MessageType::SearchSub, "SEARCH_SUB"_L1 },
    { MessageType::SearchUpdate, "SEARCH_UPDATE"_L1 },
    { MessageType::SearchUnsub, "SEARCH_UNSUB"_L1 },
    { MessageType::TopicSub, "TOPIC_SUB"_L1 },
    { MessageType::TopicUnsub, "TOPIC_UNSUB"_L1 },
    { MessageType::TopicPub, "TOPIC_PUB"_L1 },
    { MessageType::TopicMessage, "TOPIC_MESSAGE"_L1 },
    { MessageType::LockRequest, "LOCK_REQUEST"_L1 },
    { MessageType::LockGranted, "LOCK_GRANTED"_L1 },
    { MessageType::LockRelease, "LOCK_RELEASE"_L1 },
    { MessageType::LockReleased, "LOCK_RELEASED"_L1 },
    { MessageType::CounterRequest, "COUNTER_REQUEST"_L1 },
    { MessageType::CounterResponse, "COUNTER_RESPONSE"_L1 },
    { MessageType::CounterSync, "COUNTER_SYNC"_L1 },
    { MessageType::CounterUpdate, "COUNTER_UPDATE"_L1 },
    { MessageType::PartitionMapRequest, "PARTITION_MAP_REQUEST"_L1 },
    { MessageType::PartitionMap, "PARTITION_MAP"_L1 },
    { MessageType::EntryProcess, "ENTRY_PROCESS"_L1 },
    { MessageType::EntryProcessResponse, "ENTRY_PROCESS_RESPONSE"_L1 },
    { MessageType::EntryProcessBatch, "ENTRY_PROCESS_BATCH"_L1 },
    { MessageType::EntryProcessBatchResponse, "ENTRY_PROCESS_BATCH_RESPONSE"_L1 },
    { MessageType::RegisterResolver, "REGISTER_RESOLVER"_L1 },
    { MessageType::RegisterResolverResponse, "REGISTER_RESOLVER_RESPONSE"_L1 },
    { MessageType::UnregisterResolver, "UNREGISTER_RESOLVER"_L1 },
    { MessageType::UnregisterResolverResponse, "UNREGISTER_RESOLVER_RESPONSE"_L1 },
    { MessageType::ListResolvers, "LIST_RESOLVERS"_L1 },
    { MessageType::ListResolversResponse, "LIST_RESOLVERS_RESPONSE"_L1 },
    { MessageType::MergeRejected, "MERGE_REJECTED"_L1 },
    { MessageType::JournalSubscribe, "JOURNAL_SUBSCRIBE"_L1 },
    { MessageType::JournalUnsubscribe, "JOURNAL_UNSUBSCRIBE"_L1 },
    { MessageType::JournalEvent, "JOURNAL_EVENT"_L1 },
    { MessageType::JournalRead, "JOURNAL_READ"_L1 },
    { MessageType::JournalReadResponse, "JOURNAL_READ_RESPONSE"_L1 },
};

constexpr NameTable<WriteConcern> kWriteConcerns[] = {
    { WriteConcern::FireAndForget, "FIRE_AND_FORGET"_L1 },
    { WriteConcern::Memory, "MEMORY"_L1 },
    { WriteConcern::Applied, "APPLIED"_L1 },
    { WriteConcern::Replicated, "REPLICATED"_L1 },
    { WriteConcern::Persisted, "PERSISTED"_L1 },
};

constexpr NameTable<OpType> kOpTypes[] = {
    { OpType::Put, "PUT"_L1 },
    { OpType::Remove, "REMOVE"_L1 },
    { OpType::OrAdd, "OR_ADD"_L1 },
    { OpType::OrRemove, "OR_REMOVE"_L1 },
};

constexpr NameTable<ServerEventType> kServerEventTypes[] = {
    { ServerEventType::Put, "PUT"_L1 },
    { ServerEventType::Remove, "REMOVE"_L1 },
    { ServerEventType::OrAdd, "OR_ADD"_L1 },
    { ServerEventType::OrRemove, "OR_REMOVE"_L1 },
    { ServerEventType::Updated, "UPDATED"_L1 },
};

constexpr NameTable<QueryChange> kQueryChanges[] = {
    { QueryChange::Enter, "ENTER"_L1 },
    { QueryChange::Update, "UPDATE"_L1 },
    { QueryChange::Remove, "REMOVE"_L1 },
};

constexpr NameTable<SearchChange> kSearchChanges[] = {
    { SearchChange::Enter, "ENTER"_L1 },
    { SearchChange::Update, "UPDATE"_L1 },
    { SearchChange::Leave, "LEAVE"_L1 },
};

// The table of an enum, picked by overload.
constexpr const auto &tableOf(MessageType)
{
    return kMessageTypes;
}
constexpr const auto &tableOf(WriteConcern)
{
    return kWriteConcerns;
}
constexpr const auto &tableOf(OpType)
{
    return kOpTypes;
}
constexpr const auto &tableOf(ServerEventType)
{
    return kServerEventTypes;
}
constexpr const auto &tableOf(QueryChange)
{
    return kQueryChanges;
}
constexpr const auto &tableOf(SearchChange)
{
    return kSearchChanges;
}

template <typename Enum> constexpr bool inEnumOrder()
{
    const auto &table = tableOf(Enum {});
    for (size_t i = 0; i < std::size(table); ++i) {
        if (size_t(table[i].first) != i)
            return false;
    }
    return true;
}

static_assert(inEnumOrder<MessageType>() && inEnumOrder<WriteConcern>() && inEnumOrder<OpType>()
    && inEnumOrder<ServerEventType>() && inEnumOrder<QueryChange>() && inEnumOrder<SearchChange>());

} // namespace

template <typename Enum> QLatin1StringView enumName(Enum value)
{
    const auto &table = tableOf(value);
    const auto index = size_t(value);
    return index < std::size(table) ? table[index].second : QLatin1StringView();
}

template <typename Enum> std::optional<Enum> enumFromName(QStringView name)
{
    for (const auto &[value, text] : tableOf(Enum {})) {
        if (name == text)
            return value;
    }
    return std::nullopt;
}

// Instantiates the generic forms for Enum and defines its named ones.
#define WINGMAN_ENUM_NAMES(Enum, nameFunction, fromNameFunction)                                   \
    template QLatin1StringView enumName(Enum);                                                     \
    template std::optional<Enum> enumFromName(QStringView);                                        \
    QLatin1StringView nameFunction(Enum value)                                                     \
    {                                                                                              \
        return enumName(value);                                                                    \
    }                                                                                              \
    std::optional<Enum> fromNameFunction(QStringView name)                                         \
    {                                                                                              \
        return enumFromName<Enum>(name);                                                           \
    }                                                                                              \
    static_assert(true)

WINGMAN_ENUM_NAMES(MessageType, messageTypeName, messageTypeFromName);
WINGMAN_ENUM_NAMES(WriteConcern, writeConcernName, writeConcernFromName);
WINGMAN_ENUM_NAMES(OpType, opTypeName, opTypeFromName);
WINGMAN_ENUM_NAMES(ServerEventType, serverEventTypeName, serverEventTypeFromName);
WINGMAN_ENUM_NAMES(QueryChange, queryChangeName, queryChangeFromName);
WINGMAN_ENUM_NAMES(SearchChange, searchChangeName, searchChangeFromName);

} // namespace wingman::protocol

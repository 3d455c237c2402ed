#pragma once

// Every client -> server message the node answers (docs/protocol.md), one row each:
//   X(wire type, typed message, who may send it, permission on its map, handler in Pipeline)
// ServerFactory registers each row with network::MessageRouter::on(); the handler is called as
// handler->handle(Session &, const Message &). CLIENT_OP and OP_BATCH decode to
// protocol::DecodedOps, which the router first tries with the fast OpBatchDecoder. The JOURNAL_*
// rows check READ per event (their mapName is an optional filter).
#define WINGMAN_CLIENT_MESSAGES(X)                                                                 \
    X(Auth, protocol::AuthMessage, Anonymous, None, sessions)                                      \
    X(Ping, protocol::PingMessage, Anonymous, None, sessions)                                      \
    X(ClientOp, protocol::DecodedOps, Authenticated, PerOp, operations)                            \
    X(OpBatch, protocol::DecodedOps, Authenticated, PerOp, operations)                             \
    X(OrMapPushDiff, protocol::OrMapPushDiffMessage, Authenticated, PerOp, operations)             \
    X(QuerySub, protocol::QuerySubMessage, Authenticated, Read, liveQueries)                       \
    X(QueryUnsub, protocol::QueryUnsubMessage, Authenticated, None, liveQueries)                   \
    X(SyncInit, protocol::SyncInitMessage, Authenticated, Read, sync)                              \
    X(MerkleReqBucket, protocol::MerkleReqBucketMessage, Authenticated, Read, sync)                \
    X(OrMapSyncInit, protocol::OrMapSyncInitMessage, Authenticated, Read, sync)                    \
    X(OrMapMerkleReqBucket, protocol::OrMapMerkleReqBucketMessage, Authenticated, Read, sync)      \
    X(OrMapDiffRequest, protocol::OrMapDiffRequestMessage, Authenticated, Read, sync)              \
    X(Search, protocol::SearchMessage, Authenticated, None, search)                                \
    X(SearchSub, protocol::SearchSubMessage, Authenticated, None, search)                          \
    X(SearchUnsub, protocol::SearchUnsubMessage, Authenticated, None, search)                      \
    X(TopicSub, protocol::TopicSubMessage, Authenticated, None, topics)                            \
    X(TopicUnsub, protocol::TopicUnsubMessage, Authenticated, None, topics)                        \
    X(TopicPub, protocol::TopicPubMessage, Authenticated, None, topics)                            \
    X(LockRequest, protocol::LockRequestMessage, Authenticated, None, locks)                       \
    X(LockRelease, protocol::LockReleaseMessage, Authenticated, None, locks)                       \
    X(CounterRequest, protocol::CounterRequestMessage, Authenticated, None, pnCounters)            \
    X(CounterSync, protocol::CounterSyncMessage, Authenticated, None, pnCounters)                  \
    X(PartitionMapRequest, protocol::PartitionMapRequestMessage, Authenticated, None,              \
        partitionMaps)                                                                             \
    X(EntryProcess, protocol::EntryProcessMessage, Authenticated, None, entryProcessors)           \
    X(EntryProcessBatch, protocol::EntryProcessBatchMessage, Authenticated, None, entryProcessors) \
    X(RegisterResolver, protocol::RegisterResolverMessage, Authenticated, None, resolvers)         \
    X(UnregisterResolver, protocol::UnregisterResolverMessage, Authenticated, None, resolvers)     \
    X(ListResolvers, protocol::ListResolversMessage, Authenticated, None, resolvers)               \
    X(JournalSubscribe, protocol::JournalSubscribeMessage, Authenticated, None, journalRequests)   \
    X(JournalUnsubscribe, protocol::JournalUnsubscribeMessage, Authenticated, None,                \
        journalRequests)                                                                           \
    X(JournalRead, protocol::JournalReadMessage, Authenticated, None, journalRequests)

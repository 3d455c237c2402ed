#pragma once

#include "ServerConfig.h"
#include "auth/JwtVerifier.h"
#include "cluster/AntiEntropy.h"
#include "cluster/ClusterGc.h"
#include "cluster/PartitionMapService.h"
#include "cluster/WriteReplication.h"
#include "journal/EventJournal.h"
#include "journal/JournalHandler.h"
#include "live/QueryHandler.h"
#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "network/ClientRegistry.h"
#include "network/MessageRouter.h"
#include "network/SessionHandler.h"
#include "ops/Committer.h"
#include "ops/InterceptorChain.h"
#include "ops/OpRouter.h"
#include "ops/OperationHandler.h"
#include "primitives/CounterService.h"
#include "primitives/LockService.h"
#include "primitives/PrimitiveRelay.h"
#include "primitives/TopicService.h"
#include "processors/EntryProcessorHandler.h"
#include "processors/ResolverHandler.h"
#include "processors/ScriptPool.h"
#include "search/SearchService.h"
#include "status/NodeCounters.h"
#include "sync/GcService.h"
#include "sync/SyncHandler.h"

#include <memory>

namespace wingman {

// The parts one node's requests pass through, in the order a write meets them:
// ClientRegistry → ClientConnection → MessageRouter → OperationHandler (→ OpRouter, interceptors,
// MapRegistry) → Committer (→ Storage, QueryRegistry). ServerFactory builds and wires it; the
// coordinator owns it, and with it the node's configuration, which the parts refer to.
struct Pipeline {
    Pipeline(
        ServerConfig configuration, const auth::JwtVerifier *verifier, storage::Storage &storage)
        : config(std::move(configuration))
        , maps(config.nodeId, config.clock)
        , committer(storage, queries, maps.hlc())
        , router(config.policy)
        , opRouter(config.nodeId)
        , operations(maps, config.policy, committer, opRouter)
        , sync(maps, queries, config.gcAgeMs)
        , liveQueries(maps, queries)
        , entryProcessors(maps, config.policy, committer, scripts, { config.processorMaxCodeChars })
        , resolvers(maps, config.policy, committer, storage, scripts,
              { 5 * config.processorMaxCodeChars })
        , scripts(int(config.processorThreads),
              { int(config.processorTimeoutMs), config.processorMemoryBytes,
                  config.processorMaxResultBytes })
        , gc(maps, committer, config.gcIntervalMs, config.gcAgeMs)
        , journal({ config.eventJournalCapacity, config.eventJournalTtlMs, config.eventJournalMaps,
                      config.eventJournalExcludeMaps },
              maps.hlc())
        , journalRequests(journal, config.policy, config.eventJournalEnabled)
        , topics(config.policy)
        , locks(storage, maps.hlc(), config.policy, config.clock)
        , pnCounters(storage, config.policy)
        , clients(router, { config.outboundBudgetBytes, config.slowConsumerGraceMs },
              { config.authTimeoutMs, config.maxConnections, config.maxPendingAuth,
                  config.maxConnectionsPerIpPerSecond })
    {
        if (verifier)
            sessions = std::make_unique<network::SessionHandler>(*verifier);
    }

    ServerConfig config;
    // Every part's counters; withOpenConnections adds the traffic of connections still open.
    status::NodeCounters counters(bool withOpenConnections) const;

    maps::MapRegistry maps;
    live::QueryRegistry queries;
    ops::Committer committer;
    network::MessageRouter router;
    ops::OpRouter opRouter;
    std::shared_ptr<ops::InterceptorChain> interceptors;
    std::unique_ptr<network::SessionHandler> sessions; // null when the key is unusable
    ops::OperationHandler operations;
    sync::SyncHandler sync;
    live::QueryHandler liveQueries;
    // Entry processors and conflict resolvers: scripts run on the pool's workers (processors)
    // or, bounded by the same time limit, on the event loop (resolvers).
    processors::EntryProcessorHandler entryProcessors;
    processors::ResolverHandler resolvers;
    // After its users: it is gone (its workers joined) before anything a script's answer is
    // posted to.
    processors::ScriptPool scripts;
    sync::GcService gc;
    journal::EventJournal journal; // fed by the committer only when eventJournalEnabled
    journal::JournalHandler journalRequests;
    std::unique_ptr<search::SearchService> search; // full-text search, fed by the committer
    // Topics, locks and PN counters (docs/protocol.md); connections leaving the registry leave
    // them, so they are declared before it.
    primitives::TopicService topics;
    primitives::LockService locks;
    primitives::CounterService pnCounters;
    network::ClientRegistry clients;
    std::unique_ptr<cluster::PartitionMapService> partitionMaps; // null without a cluster module
    // With a cluster bus: topics and counters to and from the other members (docs/cluster.md §7).
    std::unique_ptr<primitives::PrimitiveRelay> primitiveRelay;
    // With a cluster bus: replication, peers' changes and the ack sets (docs/cluster.md §4).
    // Declared last so it is gone before the parts it hooks.
    std::unique_ptr<cluster::WriteReplication> replication;
    // With a cluster bus: the agreed tombstone horizon (docs/cluster.md §6); it prunes through gc
    // and sets replication's ChangeApplier's horizon, so it goes before replication.
    std::unique_ptr<cluster::ClusterGc> clusterGc;
    // With a cluster bus: Merkle anti-entropy with each peer (docs/cluster.md §5); it merges
    // through replication's ChangeApplier, so it goes first.
    std::unique_ptr<cluster::AntiEntropy> antiEntropy;
};

} // namespace wingman

#pragma once

#include "ServerConfig.h"
#include "auth/Principal.h"
#include "cluster/Member.h"
#include "metrics/NodeCounters.h"
#include "network/ClientConnection.h"
#include "network/MessageRouter.h"
#include "sync/GcService.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QMap>
#include <QObject>
#include <map>
#include <memory>
#include <optional>

class QWebSocket;

namespace wingman {

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace auth {
class JwtVerifier;
}
namespace cluster {
class ClusterModule;
}
namespace metrics {
class MetricsModule;
}
namespace network {
class NetworkModule;
}
namespace storage {
class Storage;
}
namespace crdt {
class LwwMap;
class OrMap;
}
namespace ops {
class InterceptorChain;
class MapRegistry;
class OperationHandler;
}
namespace query {
class QueryHandler;
class QueryRegistry;
}
namespace sync {
class SyncHandler;
}

// What the coordinator tells about one client connection.
struct ConnectionInfo {
    quint64 id = 0;
    QString remoteAddress;
    network::AuthState authState = network::AuthState::Pending;
    auth::Principal principal;
    QDateTime connectedAt;
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    qint64 queuedBytes = 0;
};

// The lifecycle of one node and its public API. It joins the client listener, the cluster
// listener and storage: ready() once all three are up, startupFailed(reason) if any fails.
// Built by ServerFactory; a process may run several.
class ServerCoordinator : public QObject
{
    Q_OBJECT
public:
    enum class State { Created, Starting, Ready, Failed, Stopping, Stopped };
    Q_ENUM(State)

    struct Modules {
        network::NetworkModule *network = nullptr;
        cluster::ClusterModule *cluster = nullptr;
        storage::Storage *storage = nullptr;
        metrics::MetricsModule *metrics = nullptr; // null: no metrics listener
        std::unique_ptr<auth::JwtVerifier> verifier; // null: configError says why
        QString configError;
    };

    ServerCoordinator(ServerConfig config, Modules modules, QObject *parent = nullptr);
    ~ServerCoordinator() override;

    State state() const { return m_state; }
    bool isReady() const { return m_state == State::Ready; }
    // The ports the listeners reported; 0 until ready().
    quint16 port() const { return m_port; }
    quint16 clusterPort() const { return m_clusterPort; }
    // The metrics listener's port; 0 until ready() or without one.
    quint16 metricsPort() const { return m_metricsPort; }
    QString nodeId() const { return m_config.nodeId; }
    const ServerConfig &config() const { return m_config; }
    qint64 uptimeMs() const;

    QList<ConnectionInfo> connections() const;
    std::optional<ConnectionInfo> connection(quint64 id) const;
    // Other nodes this one knows of, with their link state.
    QList<cluster::Member> members() const;
    // The verifier of client tokens; null when the configured key is unusable.
    const auth::JwtVerifier *verifier() const { return m_verifier.get(); }
    // The node's live maps by name; null when absent or of the other kind.
    crdt::LwwMap *getMap(const QString &name) const;
    crdt::OrMap *getOrMap(const QString &name) const;
    ops::MapRegistry &maps() { return *m_maps; }
    network::MessageRouter &router() { return m_router; }
    metrics::NodeCounters &counters() { return m_counters; }
    const metrics::NodeCounters &counters() const { return m_counters; }
    // counters() completed with the op path's own counts and the traffic of open connections.
    metrics::NodeCounters counterTotals() const;
    // Messages of authenticated clients routed so far, by message type.
    QMap<QString, quint64> messagesByType() const;

    // One GC run (server.md "GC and TTL"): prunes tombstones older than olderThanMillis (epoch
    // ms on the node's clock), expires TTL records, then sends GC_PRUNE to clients. The maps
    // change before it returns; storage, events and the "gc" notableEvent follow the commit.
    // The timer runs it every gcIntervalMs with now - gcAgeMs. Does nothing unless ready.
    sync::GcService::Result performGarbageCollection(qint64 olderThanMillis);

    // Begins the startup chain; ServerFactory queues it for the next event-loop turn.
    void start();
    // Stop accepting, tell every client SHUTDOWN_PENDING, close them (1001), peers and storage,
    // then stopped(). Harmless to call twice.
    void shutdown();

Q_SIGNALS:
    void ready();
    void startupFailed(const QString &reason);
    // shutdown() has begun: clients are being told, nothing new is accepted.
    void stopping();
    void stopped();
    void connectionOpened(quint64 id);
    void connectionClosed(quint64 id);
    void connectionAuthStateChanged(quint64 id, wingman::network::AuthState state);
    // Something an operator should see in the events log: kind is a short tag such as
    // "auth-failure", "op-rejected", "slow-consumer", "peer-down", "gc"; detail is one line.
    void notableEvent(const QString &kind, const QString &detail);
    // A cluster member came up or went down; members() has the new picture.
    void membershipChanged();

private:
    void onNetworkListening(quint16 port);
    void onClusterListening(quint16 port);
    void onMetricsListening(quint16 port);
    void onStorageOpened();
    // The configured id, else the one stored, else a new one (stored); an error line when the
    // configured id is not the storage's.
    QString resolveNodeId();
    void onModuleFailed(const QString &reason);
    void maybeCompleteStartup();
    void completeStartup(quint16 port, quint16 clusterPort);
    void acceptSocket(QWebSocket *socket);
    void finishShutdown();
    void registerHandlers();
    void onGarbageCollected(const sync::GcService::Result &result);

    ServerConfig m_config;
    network::NetworkModule *m_network;
    cluster::ClusterModule *m_cluster;
    storage::Storage *m_storage;
    metrics::MetricsModule *m_metrics;
    std::unique_ptr<auth::JwtVerifier> m_verifier;
    QString m_configError;
    network::MessageRouter m_router;
    std::unique_ptr<ops::MapRegistry> m_maps;
    std::unique_ptr<query::QueryRegistry> m_queries;
    std::unique_ptr<query::QueryHandler> m_queryHandler;
    std::unique_ptr<sync::SyncHandler> m_syncHandler;
    ops::OperationHandler *m_operations;
    std::shared_ptr<ops::InterceptorChain> m_interceptors;
    sync::GcService *m_gc;

    State m_state = State::Created;
    quint16 m_listeningPort = 0;
    quint16 m_listeningClusterPort = 0;
    quint16 m_listeningMetricsPort = 0;
    bool m_storageOpen = false;
    quint16 m_port = 0;
    quint16 m_clusterPort = 0;
    quint16 m_metricsPort = 0;
    QElapsedTimer m_uptime;
    quint64 m_nextConnectionId = 1;
    QHash<quint64, network::ClientConnection *> m_connections;
    metrics::NodeCounters m_counters;
    std::map<QString, quint64> m_messagesByType; // stable addresses: handlers hold them
};

} // namespace wingman

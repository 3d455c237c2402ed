#pragma once

#include "ServerConfig.h"
#include "maps/MapRegistry.h"
#include "status/NodeStatus.h"
#include "sync/GcService.h"

#include <QElapsedTimer>
#include <QLoggingCategory>

#include <memory>

class QWebSocket;

namespace wingman {

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace auth {
class JwtVerifier;
}
namespace cluster {
class ClusterGc;
class ClusterModule;
class PeerBus;
} // namespace cluster
namespace crdt {
class LwwMap;
class OrMap;
} // namespace crdt
namespace metrics {
class MetricsModule;
}
namespace network {
class NetworkModule;
}
namespace storage {
class Storage;
}
struct Pipeline;

// The lifecycle of one node. It joins the client listener, the cluster listener and storage
// (and the metrics listener, when there is one): ready() once all are up, startupFailed(reason)
// if any fails; shutdown() tells every client first and loses no acknowledged write. Built by
// ServerFactory, which also builds the request pipeline it owns; a process may run several.
class ServerCoordinator : public status::NodeStatus
{
    Q_OBJECT
public:
    struct Modules {
        network::NetworkModule *network = nullptr;
        cluster::ClusterModule *cluster = nullptr;
        // The cluster as the data path sees it; null: no replication (a single node).
        cluster::PeerBus *bus = nullptr;
        storage::Storage *storage = nullptr;
        metrics::MetricsModule *metrics = nullptr; // null: no metrics listener
        std::unique_ptr<auth::JwtVerifier> verifier; // null: configError says why
        QString configError;
    };

    ServerCoordinator(
        Modules modules, std::unique_ptr<Pipeline> pipeline, QObject *parent = nullptr);
    ~ServerCoordinator() override;

    State state() const override { return m_state; }
    QString nodeId() const override;
    QString host() const override;
    quint16 port() const override { return m_port; }
    quint16 clusterPort() const override { return m_clusterPort; }
    quint16 metricsPort() const override { return m_metricsPort; }
    qint64 uptimeMs() const override;
    QList<ConnectionInfo> connections() const override;
    std::optional<ConnectionInfo> connection(quint64 id) const override;
    QList<cluster::Member> members() const override;
    status::NodeCounters counterTotals() const override;
    QMap<QString, quint64> messagesByType() const override;
    status::ClusterStatus clusterStatus() const override;

    const ServerConfig &config() const;
    // The node's cluster module: links, membership, partition table (docs/cluster.md).
    cluster::ClusterModule *cluster() const { return m_cluster; }
    // The counters without the traffic of connections still open.
    status::NodeCounters counters() const;
    // The verifier of client tokens; null when the configured key is unusable.
    const auth::JwtVerifier *verifier() const { return m_verifier.get(); }
    // The node's live maps by name; null when absent or of the other kind.
    crdt::LwwMap *getMap(const QString &name) const;
    crdt::OrMap *getOrMap(const QString &name) const;
    // The cluster's GC horizon keeper; null without a cluster bus.
    const cluster::ClusterGc *clusterGc() const;

    // One GC run (docs/server.md "GC and TTL"): prunes tombstones older than olderThanMillis
    // (epoch ms on the node's clock), expires TTL records, then sends GC_PRUNE to clients. The
    // maps change before it returns; storage, events and the "gc" notableEvent follow the
    // commit. The timer runs it every gcIntervalMs with now - gcAgeMs. Does nothing unless ready.
    sync::GcService::Result performGarbageCollection(qint64 olderThanMillis);

    // Begins the startup chain; ServerFactory queues it for the next event-loop turn.
    void start();
    // Stop accepting and reading, tell every client SHUTDOWN_PENDING, let the ops already read
    // commit and their acks go out, close the clients (1001) once what they were sent has left,
    // then peers and storage, then stopped(). Bounded by shutdownDrainMs: what is left then is
    // cut off. Harmless to call twice.
    void shutdown();

private:
    void onListening();
    void onStorageOpened();
    // The cluster starts once storage said who this node is and the client port is known (it is
    // part of what the node advertises).
    void startCluster();
    // The configured id, else the one stored, else a new one (stored); an error line when the
    // configured id is not the storage's.
    QString resolveNodeId();
    void onModuleFailed(const QString &reason);
    void completeStartup();
    void acceptSocket(QWebSocket *socket);
    void onConnectionClosed();
    // Once the ops read before the shutdown are committed and their acks have left.
    void closeClients();
    void onDrainTimeout();
    void finishShutdown();

    network::NetworkModule *m_network;
    cluster::ClusterModule *m_cluster;
    storage::Storage *m_storage;
    metrics::MetricsModule *m_metrics;
    std::unique_ptr<auth::JwtVerifier> m_verifier;
    QString m_configError;
    std::unique_ptr<Pipeline> m_pipeline;
    std::shared_ptr<maps::MapRegistry::StreamLoader> m_mapLoader; // until storage opened

    State m_state = State::Created;
    quint16 m_listeningPort = 0;
    quint16 m_listeningClusterPort = 0;
    quint16 m_listeningMetricsPort = 0;
    bool m_storageOpen = false;
    bool m_clusterStarted = false;
    enum class Drain { NotStarted, Waiting, Done } m_drain = Drain::NotStarted;
    bool m_opsCommitted = false;
    bool m_clientsClosed = false;
    quint16 m_port = 0;
    quint16 m_clusterPort = 0;
    quint16 m_metricsPort = 0;
    QElapsedTimer m_uptime;
};

} // namespace wingman

#pragma once

#include "ServerConfig.h"
#include "auth/Principal.h"
#include "network/ClientConnection.h"
#include "network/MessageRouter.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHash>
#include <QLoggingCategory>
#include <QObject>
#include <memory>

class QWebSocket;

namespace wingman {

Q_DECLARE_LOGGING_CATEGORY(lcServer)

namespace auth {
class JwtVerifier;
}
namespace cluster {
class ClusterModule;
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
    QString nodeId() const { return m_config.nodeId; }
    const ServerConfig &config() const { return m_config; }
    qint64 uptimeMs() const;

    QList<ConnectionInfo> connections() const;
    // The node's live maps by name; null when absent or of the other kind.
    crdt::LwwMap *getMap(const QString &name) const;
    crdt::OrMap *getOrMap(const QString &name) const;
    ops::MapRegistry &maps() { return *m_maps; }
    network::MessageRouter &router() { return m_router; }

    // Begins the startup chain; ServerFactory queues it for the next event-loop turn.
    void start();
    // Stop accepting, tell every client SHUTDOWN_PENDING, close them (1001), peers and storage,
    // then stopped(). Harmless to call twice.
    void shutdown();

Q_SIGNALS:
    void ready();
    void startupFailed(const QString &reason);
    void stopped();
    void connectionOpened(quint64 id);
    void connectionClosed(quint64 id);
    void connectionAuthStateChanged(quint64 id, wingman::network::AuthState state);

private:
    void onNetworkListening(quint16 port);
    void onClusterListening(quint16 port);
    void onStorageOpened();
    void onModuleFailed(const QString &reason);
    void maybeCompleteStartup();
    void completeStartup(quint16 port, quint16 clusterPort);
    void acceptSocket(QWebSocket *socket);
    void finishShutdown();
    void registerHandlers();

    ServerConfig m_config;
    network::NetworkModule *m_network;
    cluster::ClusterModule *m_cluster;
    storage::Storage *m_storage;
    std::unique_ptr<auth::JwtVerifier> m_verifier;
    QString m_configError;
    network::MessageRouter m_router;
    std::unique_ptr<ops::MapRegistry> m_maps;
    std::unique_ptr<query::QueryRegistry> m_queries;
    std::unique_ptr<query::QueryHandler> m_queryHandler;
    std::unique_ptr<sync::SyncHandler> m_syncHandler;
    ops::OperationHandler *m_operations;

    State m_state = State::Created;
    quint16 m_listeningPort = 0;
    quint16 m_listeningClusterPort = 0;
    bool m_storageOpen = false;
    quint16 m_port = 0;
    quint16 m_clusterPort = 0;
    QElapsedTimer m_uptime;
    quint64 m_nextConnectionId = 1;
    QHash<quint64, network::ClientConnection *> m_connections;
};

} // namespace wingman

#pragma once

#include "ServerConfig.h"
#include "ServerCoordinator.h"
#include "TcpChaosProxy.h"

#include <QCborMap>

#include <QList>
#include <QTemporaryDir>

#include <functional>
#include <memory>
#include <vector>

namespace wingman::test {

// In-process cluster nodes for scenario tests: loopback, port 0, one SQLite file each in a
// temporary folder of their own, one cluster secret.
class ClusterNodes
{
public:
    static const QByteArray kSecret;

    ClusterNodes();
    ~ClusterNodes();

    // A node config named `nodeId`, peering with every node started so far.
    ServerConfig config(const QString &nodeId) const;
    // Starts a node with config(nodeId) as changed by `tweak`; null on failure.
    ServerCoordinator *start(
        const QString &nodeId, const std::function<void(ServerConfig &)> &tweak = {});
    // Starts node-a, node-b, ... and waits until they are meshed; false on failure.
    bool startMeshed(int count, int timeoutMs = 5000);
    bool stop(ServerCoordinator *node);

    ServerCoordinator *node(int index) const { return m_nodes.at(index).get(); }
    // The node with this id, null if none.
    ServerCoordinator *byId(const QString &nodeId) const;
    QList<ServerCoordinator *> all() const;
    // The node owning `key`'s partition in the first node's table.
    ServerCoordinator *ownerOf(const QString &key) const;
    const QTemporaryDir &dir() const { return m_dir; }

    // Every node: all members up, a link to each other node, one table (version and owners).
    static bool meshed(const QList<ServerCoordinator *> &nodes);

private:
    QTemporaryDir m_dir;
    std::vector<std::unique_ptr<ServerCoordinator>> m_nodes;
};

// An OP_BATCH of LWW PUTs to `map`: keys key-<first> up to key-<first + count - 1>, ids equal to
// the numbers, each valued writer + number and stamped (millis, 0, writer).
QCborMap lwwPutBatch(
    const QString &map, int first, int count, qint64 millis, const QString &writer);
// The LWW map's Merkle root and size on a node; 0 when the node has no such map.
quint32 lwwRootOf(const ServerCoordinator &node, const QString &map);
qsizetype lwwSizeOf(const ServerCoordinator &node, const QString &map);

// An in-process node behind a TcpChaosProxy that it advertises as its cluster address, so that
// every link to it passes the proxy.
struct ProxiedNode {
    std::unique_ptr<TcpChaosProxy> proxy;
    std::unique_ptr<ServerCoordinator> server;
};
// Starts node as nodeId with the cluster secret, dialling peer's proxy when given; `tweak` changes
// the config before the start. False on failure.
bool startProxied(ProxiedNode &node, const QString &nodeId, const ProxiedNode *peer,
    const QByteArray &secret, const std::function<void(ServerConfig &)> &tweak = {});

} // namespace wingman::test

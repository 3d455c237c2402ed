#pragma once

#include "ServerConfig.h"
#include "ServerCoordinator.h"

#include <QList>
#include <QTemporaryDir>

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

} // namespace wingman::test

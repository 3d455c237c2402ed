#pragma once

#include "protocol/MessageTypes.h"

#include <QString>

#include <functional>

namespace wingman::ops {

// Where an op's key belongs, asked on the op path before the merge (as Redis asks
// getNodeByQuery). The entry node always applies, persists and replicates the op itself
// (docs/cluster.md: nothing is forwarded); the route says whose acknowledgement the client's ack
// waits for. Without an owner lookup (a single node, or before the partition table is known)
// every key is local.
class OpRouter
{
public:
    struct Route {
        bool local = true;
        QString owner; // the owner's node id; this node's when local
        friend bool operator==(const Route &, const Route &) = default;
    };
    // The node id owning (mapName, key); empty when unknown.
    using OwnerLookup = std::function<QString(const QString &mapName, const QString &key)>;

    explicit OpRouter(QString localNodeId = {});

    void setLocalNodeId(const QString &nodeId) { m_localNodeId = nodeId; }
    void setOwnerLookup(OwnerLookup lookup) { m_ownerOf = std::move(lookup); }

    Route route(const protocol::ClientOp &op) const;

private:
    QString m_localNodeId;
    OwnerLookup m_ownerOf;
};

} // namespace wingman::ops

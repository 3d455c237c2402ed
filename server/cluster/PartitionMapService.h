#pragma once

#include "protocol/ClusterMessages.h"

#include <QObject>
#include <QSet>

namespace wingman::network {
class Session;
}

namespace wingman::cluster {

class ClusterModule;
class PartitionTable;

// Answers PARTITION_MAP_REQUEST from the adopted partition table and pushes PARTITION_MAP to
// every connection that ever asked, on each table change (docs/cluster.md §3).
class PartitionMapService : public QObject
{
    Q_OBJECT
public:
    explicit PartitionMapService(const ClusterModule &cluster, QObject *parent = nullptr);

    void handle(network::Session &session, const protocol::PartitionMapRequestMessage &request);
    // The session is gone: no more pushes to it.
    void forget(network::Session *session) { m_subscribers.remove(session); }
    protocol::PartitionMapMessage currentMap() const;

private:
    void push();

    const ClusterModule &m_cluster;
    QSet<network::Session *> m_subscribers;
};

} // namespace wingman::cluster

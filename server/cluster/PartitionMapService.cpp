#include "cluster/PartitionMapService.h"

#include "cluster/ClusterModule.h"
#include "network/Session.h"

#include <QCborArray>

namespace wingman::cluster {

namespace {

QString clientStatus(MemberState state)
{
    switch (state) {
    case MemberState::Up:
        return QStringLiteral("ACTIVE");
    case MemberState::Joining:
        return QStringLiteral("JOINING");
    case MemberState::Suspect:
        return QStringLiteral("SUSPECTED");
    case MemberState::Leaving:
        return QStringLiteral("LEAVING");
    case MemberState::Down:
    case MemberState::Left:
        break;
    }
    return {};
}

QCborArray idArray(const QStringList &ids)
{
    QCborArray array;
    for (const QString &id : ids)
        array.append(id);
    return array;
}

} // namespace

PartitionMapService::PartitionMapService(const ClusterModule &cluster, QObject *parent)
    : QObject(parent)
    , m_cluster(cluster)
{
    connect(&cluster, &ClusterModule::tableChanged, this, &PartitionMapService::push);
}

void PartitionMapService::handle(
    network::Session &session, const protocol::PartitionMapRequestMessage &request)
{
    m_subscribers.insert(&session);
    if (request.currentVersion() < m_cluster.table().version())
        session.send(currentMap());
}

protocol::PartitionMapMessage PartitionMapService::currentMap() const
{
    const PartitionTable &table = m_cluster.table();
    protocol::PartitionMapMessage map;
    map.version = table.version();
    map.partitionCount = PartitionTable::kPartitionCount;
    map.generatedAt = table.generatedAt();
    QCborArray nodes;
    for (const MemberInfo &info : m_cluster.memberInfos()) {
        const QString status = clientStatus(info.state);
        if (status.isEmpty())
            continue;
        nodes.append(QCborMap { { QStringLiteral("nodeId"), info.nodeId },
            { QStringLiteral("endpoints"),
                QCborMap { { QStringLiteral("websocket"), info.clientEndpoint } } },
            { QStringLiteral("status"), status } });
    }
    map.nodes = nodes;
    QCborArray partitions;
    for (int p = 0; p < PartitionTable::kPartitionCount; ++p) {
        partitions.append(QCborMap { { QStringLiteral("partitionId"), p },
            { QStringLiteral("ownerNodeId"), table.owner(p) },
            { QStringLiteral("backupNodeIds"), idArray(table.backups(p)) } });
    }
    map.partitions = partitions;
    return map;
}

void PartitionMapService::push()
{
    if (m_subscribers.isEmpty())
        return;
    const QByteArray frame = network::Session::encode(currentMap());
    for (network::Session *session : std::as_const(m_subscribers))
        session->sendEncoded(frame);
}

} // namespace wingman::cluster

#include "ClusterNodes.h"

#include "TestServer.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>

#include <QTest>

namespace wingman::test {

const QByteArray ClusterNodes::kSecret("cluster-test-secret-0123456789");

ClusterNodes::ClusterNodes() = default;

ClusterNodes::~ClusterNodes()
{
    for (auto &node : m_nodes) {
        if (node)
            stopServer(*node);
    }
}

ServerConfig ClusterNodes::config(const QString &nodeId) const
{
    ServerConfig config = testConfig();
    config.nodeId = nodeId;
    config.storage = QStringLiteral("sqlite:") + m_dir.filePath(nodeId + QStringLiteral(".db"));
    config.clusterSecret = kSecret;
    for (const auto &node : m_nodes) {
        if (node && node->state() != ServerCoordinator::State::Stopped)
            config.peers.append(QStringLiteral("127.0.0.1:%1").arg(node->clusterPort()));
    }
    return config;
}

ServerCoordinator *ClusterNodes::start(
    const QString &nodeId, const std::function<void(ServerConfig &)> &tweak)
{
    ServerConfig configuration = config(nodeId);
    if (tweak)
        tweak(configuration);
    auto node = startServer(configuration);
    if (!node)
        return nullptr;
    m_nodes.push_back(std::move(node));
    return m_nodes.back().get();
}

bool ClusterNodes::startMeshed(int count, int timeoutMs)
{
    for (int i = 0; i < count; ++i) {
        if (!start(QStringLiteral("node-%1").arg(QChar(u'a' + i))))
            return false;
    }
    const QList<ServerCoordinator *> nodes = all();
    return QTest::qWaitFor([&nodes] { return meshed(nodes); }, timeoutMs);
}

bool ClusterNodes::stop(ServerCoordinator *node)
{
    return stopServer(*node);
}

ServerCoordinator *ClusterNodes::byId(const QString &nodeId) const
{
    for (const auto &node : m_nodes) {
        if (node && node->nodeId() == nodeId)
            return node.get();
    }
    return nullptr;
}

QList<ServerCoordinator *> ClusterNodes::all() const
{
    QList<ServerCoordinator *> nodes;
    for (const auto &node : m_nodes)
        nodes.append(node.get());
    return nodes;
}

ServerCoordinator *ClusterNodes::ownerOf(const QString &key) const
{
    const cluster::PartitionTable &table = m_nodes.front()->cluster()->table();
    return byId(table.owner(cluster::PartitionTable::partitionOf(key)));
}

bool ClusterNodes::meshed(const QList<ServerCoordinator *> &nodes)
{
    const cluster::PartitionTable &first = nodes.first()->cluster()->table();
    for (const ServerCoordinator *node : nodes) {
        const cluster::PartitionTable &table = node->cluster()->table();
        int up = 0;
        for (const cluster::MemberInfo &info : node->cluster()->memberInfos())
            up += info.state == cluster::MemberState::Up;
        int linksUp = 0;
        for (const cluster::Member &member : node->members())
            linksUp += member.state == cluster::LinkState::Up;
        if (up != nodes.size() || linksUp != nodes.size() - 1
            || node->cluster()->peerSocketCount() != nodes.size() - 1
            || table.members().size() != nodes.size() || table.version() != first.version()
            || table.members() != first.members() || table.coordinator() != first.coordinator())
            return false;
    }
    return true;
}

QCborMap lwwPutBatch(const QString &map, int first, int count, qint64 millis, const QString &writer)
{
    QCborArray ops;
    for (int i = first; i < first + count; ++i) {
        protocol::ClientOp op;
        op.id = QString::number(i);
        op.mapName = map;
        op.key = QStringLiteral("key-%1").arg(i);
        op.opType = protocol::OpType::Put;
        op.record = crdt::LwwRecord { QCborValue(writer + QString::number(i)),
            { millis, 0, writer }, std::nullopt };
        ops.append(op.toCbor());
    }
    return QCborMap { { QStringLiteral("type"), QStringLiteral("OP_BATCH") },
        { QStringLiteral("payload"), QCborMap { { QStringLiteral("ops"), ops } } } };
}

quint32 lwwRootOf(const ServerCoordinator &node, const QString &map)
{
    const crdt::LwwMap *lww = node.getMap(map);
    return lww ? lww->merkleTree().rootHash() : 0;
}

qsizetype lwwSizeOf(const ServerCoordinator &node, const QString &map)
{
    const crdt::LwwMap *lww = node.getMap(map);
    return lww ? lww->size() : 0;
}

bool startProxied(ProxiedNode &node, const QString &nodeId, const ProxiedNode *peer,
    const QByteArray &secret, const std::function<void(ServerConfig &)> &tweak)
{
    node.proxy = std::make_unique<TcpChaosProxy>();
    if (!node.proxy->listen())
        return false;
    ServerConfig config = testConfig();
    config.nodeId = nodeId;
    config.clusterSecret = secret;
    config.clusterAdvertisePort = node.proxy->port();
    if (peer)
        config.peers = { QStringLiteral("127.0.0.1:%1").arg(peer->proxy->port()) };
    if (tweak)
        tweak(config);
    // The cluster port is known only once the node listens: dials before that are refused by
    // the proxy's upstream and retried.
    node.server = startServer(config);
    if (!node.server)
        return false;
    node.proxy->setUpstreamPort(node.server->clusterPort());
    return true;
}

} // namespace wingman::test

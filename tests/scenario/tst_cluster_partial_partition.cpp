#include "ClusterNodes.h"
#include "RawClient.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kMap = QStringLiteral("partial");
const QByteArray kClusterSecret("partial-partition-cluster-secret");

// Writes keys [first, first + count) on node in one batch; the number of ops acked successfully.
int write(ServerCoordinator &node, int first, int count, qint64 millis, const QString &writer)
{
    RawClient client;
    if (!client.connectAndAuthenticate(node.port(), TestTokens::userToken(kTestSecret, writer)))
        return -1;
    client.send(lwwPutBatch(kMap, first, count, millis, writer));
    const auto ack = client.takeAck(15000);
    if (!ack)
        return -1;
    int succeeded = 0;
    for (const QCborValue &result :
        ack->value(QStringLiteral("payload")).toMap().value(QStringLiteral("results")).toArray())
        succeeded += result.toMap().value(QStringLiteral("success")).toBool();
    return succeeded;
}

} // namespace

// A↔B cut while C reaches both (docs/cluster.md §2, §11 tst_cluster_partial_partition): C gets
// both sides' writes, and anti-entropy with C carries them to the other side before the heal.
class tst_ClusterPartialPartition : public QObject
{
    Q_OBJECT

    using Node = ProxiedNode;

    static bool startNode(Node &node, const QString &nodeId, const Node *peer)
    {
        return startProxied(node, nodeId, peer, kClusterSecret,
            [](ServerConfig &config) { config.antiEntropyIntervalMs = 1000; });
    }

    static bool converged(const QList<ServerCoordinator *> &nodes, qsizetype size)
    {
        for (const ServerCoordinator *node : nodes) {
            if (lwwSizeOf(*node, kMap) != size
                || lwwRootOf(*node, kMap) != lwwRootOf(*nodes.first(), kMap))
                return false;
        }
        return true;
    }

private Q_SLOTS:
    void writesOnBothSidesMeetThroughTheThird()
    {
        Node a, b, c;
        QVERIFY(startNode(a, QStringLiteral("node-a"), nullptr));
        QVERIFY(startNode(b, QStringLiteral("node-b"), &a));
        QVERIFY(startNode(c, QStringLiteral("node-c"), &b));
        const QList<ServerCoordinator *> nodes { a.server.get(), b.server.get(), c.server.get() };
        QTRY_VERIFY_WITH_TIMEOUT(a.server->cluster()->table().members().size() == 3
                && b.server->cluster()->table().members().size() == 3
                && c.server->cluster()->table().members().size() == 3,
            8000);

        a.proxy->setModeFor(QStringLiteral("node-b"), TcpChaosProxy::Mode::Cut);
        b.proxy->setModeFor(QStringLiteral("node-a"), TcpChaosProxy::Mode::Cut);
        QTRY_VERIFY_WITH_TIMEOUT(!a.server->cluster()->isReachable(QStringLiteral("node-b"))
                && !b.server->cluster()->isReachable(QStringLiteral("node-a")),
            3000);

        // Keys 400..499 on both sides; B's are later and win.
        const qint64 millis = QDateTime::currentMSecsSinceEpoch();
        QCOMPARE(write(*a.server, 0, 500, millis, QStringLiteral("writer-a")), 500);
        QCOMPARE(write(*b.server, 400, 500, millis + 1, QStringLiteral("writer-b")), 500);

        // Still cut: anti-entropy with C brings each side the other's writes.
        QTRY_VERIFY_WITH_TIMEOUT(converged(nodes, 900), 10000);
        QVERIFY(!a.server->cluster()->isReachable(QStringLiteral("node-b")));
        QCOMPARE(a.server->cluster()->table().members().size(), 3);

        a.proxy->setModeFor(QStringLiteral("node-b"), TcpChaosProxy::Mode::Pass);
        b.proxy->setModeFor(QStringLiteral("node-a"), TcpChaosProxy::Mode::Pass);
        QTRY_VERIFY_WITH_TIMEOUT(a.server->cluster()->isReachable(QStringLiteral("node-b")), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(converged(nodes, 900), 10000);
        for (ServerCoordinator *node : nodes) {
            const crdt::LwwMap *map = node->getMap(kMap);
            QCOMPARE(map->get(QStringLiteral("key-0")),
                std::optional<QCborValue>(QCborValue(QStringLiteral("writer-a0"))));
            QCOMPARE(map->get(QStringLiteral("key-450")),
                std::optional<QCborValue>(QCborValue(QStringLiteral("writer-b450"))));
            QCOMPARE(map->get(QStringLiteral("key-899")),
                std::optional<QCborValue>(QCborValue(QStringLiteral("writer-b899"))));
        }
        for (Node *node : { &c, &b, &a })
            QVERIFY(stopServer(*node->server));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterPartialPartition)
#include "tst_cluster_partial_partition.moc"

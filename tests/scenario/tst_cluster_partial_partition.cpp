#include "ClusterNodes.h"
#include "RawClient.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QSet>
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
    const auto ack = client.take(QStringLiteral("OP_ACK"), 15000);
    if (!ack)
        return -1;
    int succeeded = 0;
    for (const QCborValue &result :
        ack->value(QStringLiteral("payload")).toMap().value(QStringLiteral("results")).toArray())
        succeeded += result.toMap().value(QStringLiteral("success")).toBool();
    return succeeded;
}

// A client holding a live query on the whole map: the keys it has been told of, as a client's
// query result would hold them.
class Reader
{
public:
    bool start(const ServerCoordinator &node, const QString &name)
    {
        if (!m_client.connectAndAuthenticate(node.port(), TestTokens::userToken(kTestSecret, name)))
            return false;
        QObject::connect(&m_client, &RawClient::messageReceived, [this](const QCborMap &message) {
            const QString type = message.value(QStringLiteral("type")).toString();
            const QCborMap payload = message.value(QStringLiteral("payload")).toMap();
            if (type == QStringLiteral("QUERY_RESP")) {
                for (const QCborValue &result : payload.value(QStringLiteral("results")).toArray())
                    m_keys.insert(result.toMap().value(QStringLiteral("key")).toString());
            } else if (type == QStringLiteral("QUERY_UPDATE")) {
                m_keys.insert(payload.value(QStringLiteral("key")).toString());
            }
        });
        m_client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("QUERY_SUB") },
            { QStringLiteral("payload"),
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("all") },
                    { QStringLiteral("mapName"), kMap },
                    { QStringLiteral("query"), QCborMap {} } } } });
        return true;
    }
    bool holds(int first, int count) const
    {
        for (int i = first; i < first + count; ++i) {
            if (!m_keys.contains(QStringLiteral("key-%1").arg(i)))
                return false;
        }
        return true;
    }

private:
    RawClient m_client;
    QSet<QString> m_keys;
};

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

    // The chaos scenario "availability during partial partition": while A↔B is cut, clients on A
    // and on B keep writing and at once read their own writes on their node; a client on C sees
    // both sides as they write; after the heal all three nodes agree.
    void clientsKeepWritingAndReadingThroughTheCut()
    {
        Node a, b, c;
        QVERIFY(startNode(a, QStringLiteral("node-a"), nullptr));
        QVERIFY(startNode(b, QStringLiteral("node-b"), &a));
        QVERIFY(startNode(c, QStringLiteral("node-c"), &b));
        const QList<ServerCoordinator *> nodes { a.server.get(), b.server.get(), c.server.get() };
        QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed(nodes), 8000);
        Reader onA, onB, onC;
        QVERIFY(onA.start(*a.server, QStringLiteral("reader-a")));
        QVERIFY(onB.start(*b.server, QStringLiteral("reader-b")));
        QVERIFY(onC.start(*c.server, QStringLiteral("reader-c")));

        a.proxy->setModeFor(QStringLiteral("node-b"), TcpChaosProxy::Mode::Cut);
        b.proxy->setModeFor(QStringLiteral("node-a"), TcpChaosProxy::Mode::Cut);
        QTRY_VERIFY_WITH_TIMEOUT(!a.server->cluster()->isReachable(QStringLiteral("node-b"))
                && !b.server->cluster()->isReachable(QStringLiteral("node-a")),
            3000);

        // Ten rounds of 20 keys each side: A writes 0..199, B 1000..1199.
        const qint64 millis = QDateTime::currentMSecsSinceEpoch();
        for (int round = 0; round < 10; ++round) {
            const int fromA = round * 20;
            const int fromB = 1000 + round * 20;
            QCOMPARE(write(*a.server, fromA, 20, millis + round, QStringLiteral("writer-a")), 20);
            QCOMPARE(write(*b.server, fromB, 20, millis + round, QStringLiteral("writer-b")), 20);
            QTRY_VERIFY_WITH_TIMEOUT(onA.holds(fromA, 20) && onB.holds(fromB, 20), 5000);
            QTRY_VERIFY_WITH_TIMEOUT(onC.holds(fromA, 20) && onC.holds(fromB, 20), 5000);
        }
        QVERIFY(!a.server->cluster()->isReachable(QStringLiteral("node-b")));
        QCOMPARE(a.server->cluster()->table().members().size(), 3);

        a.proxy->setModeFor(QStringLiteral("node-b"), TcpChaosProxy::Mode::Pass);
        b.proxy->setModeFor(QStringLiteral("node-a"), TcpChaosProxy::Mode::Pass);
        QTRY_VERIFY_WITH_TIMEOUT(converged(nodes, 400), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(onA.holds(1000, 200) && onB.holds(0, 200), 10000);
        for (Node *node : { &c, &b, &a })
            QVERIFY(stopServer(*node->server));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterPartialPartition)
#include "tst_cluster_partial_partition.moc"

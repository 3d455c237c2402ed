#include "ClusterNodes.h"
#include "HttpProbe.h"
#include "RawClient.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kMap = QStringLiteral("entropy");
const QByteArray kClusterSecret("antientropy-test-cluster-secret");

// Writes keys [first, first + count) on node in batches of 1,000 and waits for every ack.
bool write(ServerCoordinator &node, int first, int count, qint64 millis, const QString &writer)
{
    RawClient client;
    if (!client.connectAndAuthenticate(node.port(), TestTokens::userToken(kTestSecret, writer)))
        return false;
    int acked = 0;
    QObject::connect(&client, &RawClient::messageReceived, [&](const QCborMap &message) {
        if (message.value(QStringLiteral("type")).toString() == u"OP_ACK")
            acked += int(message.value(QStringLiteral("payload"))
                             .toMap()
                             .value(QStringLiteral("results"))
                             .toArray()
                             .size());
    });
    for (int at = first; at < first + count; at += 1000)
        client.send(lwwPutBatch(kMap, at, qMin(1000, first + count - at), millis, writer));
    return QTest::qWaitFor([&] { return acked >= count; }, 30000);
}

const QString kOrMap = QStringLiteral("entropy-or");

QCborMap orOp(const QString &key, const QString &tag, bool add)
{
    protocol::ClientOp op;
    op.mapName = kOrMap;
    op.key = key;
    if (add) {
        op.opType = protocol::OpType::OrAdd;
        const crdt::Timestamp stamp = *crdt::Timestamp::fromString(tag);
        op.orRecord = crdt::OrRecord { QCborValue(tag), stamp, tag, std::nullopt };
    } else {
        op.opType = protocol::OpType::OrRemove;
        op.orTag = tag;
    }
    return op.toCbor();
}

// Sends one OP_BATCH of OR ops to node and waits for its ack.
bool writeOr(ServerCoordinator &node, const QCborArray &ops)
{
    RawClient client;
    if (!client.connectAndAuthenticate(
            node.port(), TestTokens::userToken(kTestSecret, QStringLiteral("or-writer"))))
        return false;
    // Ids as the TopGun client gives them: a batch is acknowledged through its ops' ids.
    QCborArray numbered;
    for (qsizetype i = 0; i < ops.size(); ++i) {
        QCborMap op = ops.at(i).toMap();
        op.insert(QStringLiteral("id"), QString::number(i + 1));
        numbered.append(op);
    }
    client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("OP_BATCH") },
        { QStringLiteral("payload"), QCborMap { { QStringLiteral("ops"), numbered } } } });
    return client.takeAck(10000).has_value();
}

QStringList tagsOf(const ServerCoordinator &node, const QString &key)
{
    QStringList tags;
    if (const crdt::OrMap *map = node.getOrMap(kOrMap)) {
        for (const crdt::OrRecord &record : map->records(key))
            tags.append(record.tag);
    }
    return tags;
}

quint32 orRootOf(const ServerCoordinator &node)
{
    const crdt::OrMap *map = node.getOrMap(kOrMap);
    return map ? map->merkleTree().rootHash() : 0;
}

cluster::MemberState stateOn(const ServerCoordinator &node, const QString &nodeId)
{
    for (const cluster::MemberInfo &info : node.cluster()->memberInfos()) {
        if (info.nodeId == nodeId)
            return info.state;
    }
    return cluster::MemberState::Left;
}

} // namespace

// Merkle anti-entropy (docs/cluster.md §5, §11 tst_cluster_antientropy): divergence built while
// a link is cut, with hint queues too small to carry it, converges once the link is back.
class tst_ClusterAntiEntropy : public QObject
{
    Q_OBJECT

    using Node = ProxiedNode;

    static bool startNode(Node &node, const QString &nodeId, const Node *peer)
    {
        return startProxied(node, nodeId, peer, kClusterSecret, [](ServerConfig &config) {
            // Far too small for what is written while cut: the queue is dropped, anti-entropy
            // repairs.
            config.hintQueueBytes = 64 * 1024;
            config.antiEntropyIntervalMs = 1000;
            config.metricsPort = 0;
        });
    }

    static void cut(Node &a, Node &b, TcpChaosProxy::Mode mode)
    {
        a.proxy->setModeFor(b.server->nodeId(), mode);
        b.proxy->setModeFor(a.server->nodeId(), mode);
    }

    // Cuts the link, waits until each side sees the other down, so writes ack alone.
    static bool split(Node &a, Node &b)
    {
        cut(a, b, TcpChaosProxy::Mode::Cut);
        return QTest::qWaitFor(
            [&] {
                return stateOn(*a.server, b.server->nodeId()) == cluster::MemberState::Down
                    && stateOn(*b.server, a.server->nodeId()) == cluster::MemberState::Down;
            },
            10000);
    }

    // Heals the link; the time from its link-up to equal roots, or -1.
    static qint64 healAndConverge(Node &a, Node &b)
    {
        QElapsedTimer sinceLinkUp;
        QObject::connect(a.server->cluster(), &cluster::PeerBus::linkUp, a.server.get(),
            [&](const QString &) { sinceLinkUp.start(); });
        cut(a, b, TcpChaosProxy::Mode::Pass);
        // A running event loop, not QTest::qWaitFor: that sleeps 10 ms whenever no event is
        // pending, which adds up over the hops of in-process nodes and their proxies.
        QEventLoop loop;
        QTimer check;
        bool converged = false;
        QObject::connect(&check, &QTimer::timeout, &loop, [&] {
            converged = sinceLinkUp.isValid()
                && lwwRootOf(*a.server, kMap) == lwwRootOf(*b.server, kMap)
                && lwwSizeOf(*a.server, kMap) == lwwSizeOf(*b.server, kMap);
            if (converged)
                loop.quit();
        });
        QTimer::singleShot(30000, &loop, &QEventLoop::quit);
        check.start(1);
        loop.exec();
        return converged ? sinceLinkUp.elapsed() : -1;
    }

private Q_SLOTS:
    void tenThousandKeysWhileCut()
    {
        Node a, b;
        QVERIFY(startNode(a, QStringLiteral("node-a"), nullptr));
        QVERIFY(startNode(b, QStringLiteral("node-b"), &a));
        // Meshed, and B's catch-up round has ended its joining.
        QTRY_VERIFY_WITH_TIMEOUT(a.server->cluster()->isReachable(QStringLiteral("node-b"))
                && b.server->cluster()->isReachable(QStringLiteral("node-a"))
                && !b.server->cluster()->isJoining(),
            8000);
        QVERIFY(split(a, b));

        QVERIFY(write(
            *a.server, 0, 10000, QDateTime::currentMSecsSinceEpoch(), QStringLiteral("writer-a")));
        QCOMPARE(lwwSizeOf(*a.server, kMap), 10000);
        QVERIFY(lwwSizeOf(*b.server, kMap) < 10000);

        const qint64 ms = healAndConverge(a, b);
        QVERIFY2(ms >= 0, "roots did not converge within 30 s of healing");
        qInfo() << "10,000 keys: link-up to equal roots in" << ms << "ms";
        QCOMPARE(lwwSizeOf(*b.server, kMap), 10000);
        QCOMPARE(b.server->getMap(kMap)->get(QStringLiteral("key-9999")),
            std::optional<QCborValue>(QCborValue(QStringLiteral("writer-a9999"))));
        // B repaired itself from A's pushes (a replayed hint batch may have carried some first).
        const quint64 repaired
            = b.server->counters().antiEntropyByPeer.value(QStringLiteral("node-a")).keysRepaired;
        qInfo() << "keys repaired on B by anti-entropy:" << repaired;
        QVERIFY(repaired > 0 && repaired <= 10000);

        // Once equal, a periodic round is one MERKLE_ROOTS exchange.
        const auto equalRounds = [&] {
            return a.server->counters()
                .antiEntropyByPeer.value(QStringLiteral("node-b"))
                .rounds.value(QStringLiteral("equal"));
        };
        QTRY_VERIFY_WITH_TIMEOUT(equalRounds() >= 1, 5000);
        const auto metrics = httpGet(a.server->metricsPort(), QStringLiteral("/metrics"));
        QVERIFY(metrics);
        QVERIFY(metrics->body.contains(
            "wingman_cluster_antientropy_rounds_total{peer=\"node-b\",result=\"repaired\"}"));
        QVERIFY(metrics->body.contains(
            "wingman_cluster_antientropy_last_duration_seconds{peer=\"node-b\"}"));
        qInfo() << "a round on equal 10,000-key maps took"
                << a.server->counters()
                       .antiEntropyByPeer.value(QStringLiteral("node-b"))
                       .lastDurationSeconds
                * 1000
                << "ms";
        QVERIFY(stopServer(*b.server));
        QVERIFY(stopServer(*a.server));
    }

    void bothSidesDivergeThenHoldTheUnion()
    {
        Node a, b;
        QVERIFY(startNode(a, QStringLiteral("node-a"), nullptr));
        QVERIFY(startNode(b, QStringLiteral("node-b"), &a));
        // Meshed, and B's catch-up round has ended its joining.
        QTRY_VERIFY_WITH_TIMEOUT(a.server->cluster()->isReachable(QStringLiteral("node-b"))
                && b.server->cluster()->isReachable(QStringLiteral("node-a"))
                && !b.server->cluster()->isJoining(),
            8000);
        QVERIFY(split(a, b));

        // Keys 4000..4999 are written on both sides; B's are later and win.
        const qint64 millis = QDateTime::currentMSecsSinceEpoch();
        QVERIFY(write(*a.server, 0, 5000, millis, QStringLiteral("writer-a")));
        QVERIFY(write(*b.server, 4000, 5000, millis + 1, QStringLiteral("writer-b")));

        const qint64 ms = healAndConverge(a, b);
        QVERIFY2(ms >= 0, "roots did not converge within 30 s of healing");
        qInfo() << "5,000 keys each side: link-up to equal roots in" << ms << "ms";
        for (Node *node : { &a, &b }) {
            const crdt::LwwMap *map = node->server->getMap(kMap);
            QCOMPARE(map->size(), 9000);
            QCOMPARE(map->get(QStringLiteral("key-10")),
                std::optional<QCborValue>(QCborValue(QStringLiteral("writer-a10"))));
            QCOMPARE(map->get(QStringLiteral("key-4500")),
                std::optional<QCborValue>(QCborValue(QStringLiteral("writer-b4500"))));
            QCOMPARE(map->get(QStringLiteral("key-8999")),
                std::optional<QCborValue>(QCborValue(QStringLiteral("writer-b8999"))));
        }
        QVERIFY(stopServer(*b.server));
        QVERIFY(stopServer(*a.server));
    }

    // OR map: a tag removed on one side while cut is removed on the other too; adds made
    // on either side survive.
    void orMapConvergesWithTombstones()
    {
        Node a, b;
        QVERIFY(startNode(a, QStringLiteral("node-a"), nullptr));
        QVERIFY(startNode(b, QStringLiteral("node-b"), &a));
        // Meshed, and B's catch-up round has ended its joining.
        QTRY_VERIFY_WITH_TIMEOUT(a.server->cluster()->isReachable(QStringLiteral("node-b"))
                && b.server->cluster()->isReachable(QStringLiteral("node-a"))
                && !b.server->cluster()->isJoining(),
            8000);
        const qint64 millis = QDateTime::currentMSecsSinceEpoch();
        const auto tag = [millis](int n, const char *node) {
            return QStringLiteral("%1:%2:%3").arg(millis).arg(n).arg(QLatin1StringView(node));
        };
        const QString shared = QStringLiteral("shared");
        QVERIFY(writeOr(*a.server, { orOp(shared, tag(1, "client-a"), true) }));
        QTRY_COMPARE_WITH_TIMEOUT(
            tagsOf(*b.server, shared), QStringList { tag(1, "client-a") }, 5000);
        QVERIFY(split(a, b));

        QVERIFY(writeOr(*a.server,
            { orOp(shared, tag(1, "client-a"), false),
                orOp(QStringLiteral("a-only"), tag(2, "client-a"), true) }));
        QVERIFY(writeOr(*b.server,
            { orOp(shared, tag(3, "client-b"), true),
                orOp(QStringLiteral("b-only"), tag(4, "client-b"), true) }));

        cut(a, b, TcpChaosProxy::Mode::Pass);
        QTRY_VERIFY_WITH_TIMEOUT(orRootOf(*a.server) == orRootOf(*b.server)
                && tagsOf(*b.server, shared) == QStringList { tag(3, "client-b") },
            30000);
        for (Node *node : { &a, &b }) {
            QCOMPARE(tagsOf(*node->server, shared), QStringList { tag(3, "client-b") });
            QCOMPARE(tagsOf(*node->server, QStringLiteral("a-only")),
                QStringList { tag(2, "client-a") });
            QCOMPARE(tagsOf(*node->server, QStringLiteral("b-only")),
                QStringList { tag(4, "client-b") });
            QVERIFY(node->server->getOrMap(kOrMap)->isTombstoned(tag(1, "client-a")));
        }
        QVERIFY(stopServer(*b.server));
        QVERIFY(stopServer(*a.server));
    }

    // A node restarted on its data dir catches up what it missed, and only then ends joining.
    void restartedNodeCatchesUp()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        ServerCoordinator *a = cluster.node(0);
        QVERIFY(write(*a, 0, 500, QDateTime::currentMSecsSinceEpoch(), QStringLiteral("writer-a")));
        QTRY_COMPARE_WITH_TIMEOUT(lwwSizeOf(*cluster.node(2), kMap), 500, 5000);
        QVERIFY(cluster.stop(cluster.node(2)));

        QVERIFY(
            write(*a, 500, 10000, QDateTime::currentMSecsSinceEpoch(), QStringLiteral("writer-a")));
        // The join timer must not be what ends joining here.
        ServerCoordinator *c = cluster.start(
            QStringLiteral("node-c"), [](ServerConfig &config) { config.joinTimeoutMs = 60000; });
        QVERIFY(c);
        QElapsedTimer sinceReady;
        sinceReady.start();
        QTRY_VERIFY_WITH_TIMEOUT(!c->cluster()->isJoining(), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(lwwRootOf(*c, kMap), lwwRootOf(*a, kMap), 10000);
        qInfo()
            << "restart catch-up of 10,000 keys (links without a proxy): ready to equal roots in"
            << sinceReady.elapsed() << "ms";
        QCOMPARE(lwwSizeOf(*c, kMap), 10500);
    }
};

QTEST_GUILESS_MAIN(tst_ClusterAntiEntropy)
#include "tst_cluster_antientropy.moc"

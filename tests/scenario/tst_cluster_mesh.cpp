#include "ClusterNodes.h"
#include "HttpProbe.h"
#include "RawClient.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"

#include <QCborArray>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QByteArray kClusterSecret("mesh-test-cluster-secret");

ServerConfig nodeConfig(const QTemporaryDir &dir, const QString &name, const QString &nodeId,
    const QList<const ServerCoordinator *> &peers = {})
{
    ServerConfig config = testConfig();
    config.nodeId = nodeId;
    config.storage = QStringLiteral("sqlite:") + dir.filePath(name + QStringLiteral(".db"));
    config.clusterSecret = kClusterSecret;
    for (const ServerCoordinator *peer : peers)
        config.peers.append(QStringLiteral("127.0.0.1:%1").arg(peer->clusterPort()));
    return config;
}

cluster::MemberState stateOn(const ServerCoordinator &node, const QString &nodeId)
{
    for (const cluster::MemberInfo &info : node.cluster()->memberInfos()) {
        if (info.nodeId == nodeId)
            return info.state;
    }
    return cluster::MemberState::Joining;
}

QCborMap mapRequest(std::optional<qint64> currentVersion)
{
    QCborMap request { { QStringLiteral("type"), QStringLiteral("PARTITION_MAP_REQUEST") } };
    if (currentVersion)
        request.insert(QStringLiteral("payload"),
            QCborMap { { QStringLiteral("currentVersion"), *currentVersion } });
    return request;
}

} // namespace

class tst_ClusterMesh : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void loneNodeServesItsOwnMap()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto node = startServer(nodeConfig(dir, QStringLiteral("alone"), QStringLiteral("solo")));
        QVERIFY(node);
        QTRY_VERIFY_WITH_TIMEOUT(node->cluster()->table().version() >= 1, 2000);
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            node->port(), TestTokens::userToken(kTestSecret, QStringLiteral("alice"))));
        client.send(mapRequest(std::nullopt));
        const auto map = client.take(QStringLiteral("PARTITION_MAP"));
        QVERIFY(map);
        const QCborMap payload = map->value(QStringLiteral("payload")).toMap();
        QVERIFY(payload.value(QStringLiteral("version")).toInteger() >= 1);
        QCOMPARE(payload.value(QStringLiteral("partitionCount")).toInteger(), 271);
        const QCborArray nodes = payload.value(QStringLiteral("nodes")).toArray();
        QCOMPARE(nodes.size(), 1);
        QCOMPARE(nodes.at(0).toMap().value(QStringLiteral("status")).toString(),
            QStringLiteral("ACTIVE"));
        const QCborArray partitions = payload.value(QStringLiteral("partitions")).toArray();
        QCOMPARE(partitions.size(), 271);
        for (const QCborValue &partition : partitions) {
            QCOMPARE(partition.toMap().value(QStringLiteral("ownerNodeId")).toString(),
                QStringLiteral("solo"));
            QVERIFY(partition.toMap().value(QStringLiteral("backupNodeIds")).toArray().isEmpty());
        }
        QVERIFY(stopServer(*node));
    }

    void threeNodesMeshFromPartialPeerLists()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ServerConfig aConfig = nodeConfig(dir, QStringLiteral("a"), QStringLiteral("node-a"));
        aConfig.metricsPort = 0;
        auto a = startServer(aConfig);
        QVERIFY(a);
        auto b = startServer(
            nodeConfig(dir, QStringLiteral("b"), QStringLiteral("node-b"), { a.get() }));
        QVERIFY(b);
        // C has no configured id: it keeps the one its SQLite storage generated.
        const ServerConfig cConfig = nodeConfig(dir, QStringLiteral("c"), {}, { b.get() });
        auto c = startServer(cConfig);
        QVERIFY(c);
        const QString cId = c->nodeId();
        QVERIFY(!cId.isEmpty());

        QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed({ a.get(), b.get(), c.get() }), 5000);
        const cluster::PartitionTable table = a->cluster()->table();
        for (const QString &id : { QStringLiteral("node-a"), QStringLiteral("node-b"), cId })
            QVERIFY(table.ownedBy(id) >= 90);

        // RTT comes from the next probe round.
        QTRY_VERIFY_WITH_TIMEOUT(a->cluster()->rttMs(QStringLiteral("node-b")) >= 0, 2000);
        const auto metrics = httpGet(a->metricsPort(), QStringLiteral("/metrics"));
        QVERIFY(metrics);
        for (const QByteArray &line : { QByteArray("wingman_cluster_members{state=\"up\"} 2\n"),
                 QByteArray("wingman_cluster_members{state=\"down\"} 0\n"),
                 "wingman_cluster_partition_table_version " + QByteArray::number(table.version())
                     + '\n',
                 "wingman_cluster_partitions_owned "
                     + QByteArray::number(table.ownedBy(QStringLiteral("node-a"))) + '\n',
                 QByteArray("wingman_cluster_link_up{peer=\"node-b\"} 1\n"),
                 QByteArray(
                     "wingman_cluster_handshake_failures_total{reason=\"authentication\"} 0\n") })
            QVERIFY2(metrics->body.contains(line), line.constData());
        QVERIFY(metrics->body.contains("wingman_cluster_link_rtt_seconds{peer=\"node-b\"} "));

        // Clients get the same map from any node, with client endpoints.
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            b->port(), TestTokens::userToken(kTestSecret, QStringLiteral("alice"))));
        client.send(mapRequest(0));
        const auto map = client.take(QStringLiteral("PARTITION_MAP"));
        QVERIFY(map);
        const QCborMap payload = map->value(QStringLiteral("payload")).toMap();
        QCOMPARE(payload.value(QStringLiteral("version")).toInteger(), table.version());
        QCOMPARE(payload.value(QStringLiteral("generatedAt")).toInteger(), table.generatedAt());
        QStringList endpoints;
        for (const QCborValue &node : payload.value(QStringLiteral("nodes")).toArray()) {
            endpoints.append(node.toMap()
                                 .value(QStringLiteral("endpoints"))
                                 .toMap()
                                 .value(QStringLiteral("websocket"))
                                 .toString());
        }
        endpoints.sort();
        QStringList expected;
        for (const ServerCoordinator *node : { a.get(), b.get(), c.get() })
            expected.append(QStringLiteral("ws://127.0.0.1:%1").arg(node->port()));
        expected.sort();
        QCOMPARE(endpoints, expected);
        const QCborArray partitions = payload.value(QStringLiteral("partitions")).toArray();
        QCOMPARE(partitions.size(), 271);
        for (int p : { 0, 1, 2, 100, 270 }) {
            const QCborMap partition = partitions.at(p).toMap();
            QCOMPARE(partition.value(QStringLiteral("ownerNodeId")).toString(), table.owner(p));
            QCOMPARE(partition.value(QStringLiteral("backupNodeIds")).toArray().size(), 1);
        }
        // Not older: no reply (a PONG proves the request was handled).
        client.send(mapRequest(table.version()));
        client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("PING") },
            { QStringLiteral("timestamp"), 1 } });
        QVERIFY(client.take(QStringLiteral("PONG")));
        QVERIFY(!client.has(QStringLiteral("PARTITION_MAP")));

        // Graceful stop: left on A and B within 1 s, without suspicion; the table moves on once.
        const qint64 version = table.version();
        const quint64 suspicions = a->cluster()->suspicions() + b->cluster()->suspicions();
        QElapsedTimer leaving;
        leaving.start();
        QVERIFY(stopServer(*c));
        QTRY_VERIFY_WITH_TIMEOUT(stateOn(*a, cId) == cluster::MemberState::Left
                && stateOn(*b, cId) == cluster::MemberState::Left
                && a->cluster()->table().version() == version + 1
                && b->cluster()->table().version() == version + 1,
            1000);
        QVERIFY2(leaving.elapsed() < 1000, qPrintable(QString::number(leaving.elapsed())));
        QCOMPARE(a->cluster()->table().members(), (QStringList { "node-a", "node-b" }));
        QCOMPARE(a->cluster()->suspicions() + b->cluster()->suspicions(), suspicions);
        // The client that asked is told.
        const auto pushed = client.take(QStringLiteral("PARTITION_MAP"), 2000);
        QVERIFY(pushed);
        QCOMPARE(pushed->value(QStringLiteral("payload"))
                     .toMap()
                     .value(QStringLiteral("version"))
                     .toInteger(),
            version + 1);

        // Restarted on its data dir, C is the same member again.
        c.reset();
        c = startServer(cConfig);
        QVERIFY(c);
        QCOMPARE(c->nodeId(), cId);
        QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed({ a.get(), b.get(), c.get() }), 5000);
        QVERIFY(a->cluster()->table().version() >= version + 2);
        QVERIFY(a->cluster()->table().members().contains(cId));

        for (auto *node : { c.get(), b.get(), a.get() })
            QVERIFY(stopServer(*node));
    }

    // A shared peer list names the node itself: it hears its own id once and never dials that
    // address again.
    void ownAddressIsDialledOnce()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        TcpChaosProxy mirror;
        QVERIFY(mirror.listen());
        ServerConfig config = nodeConfig(dir, QStringLiteral("s"), QStringLiteral("node-s"));
        config.peers = { QStringLiteral("127.0.0.1:%1").arg(mirror.port()) };
        auto node = startServer(config);
        QVERIFY(node);
        mirror.setUpstreamPort(node->clusterPort());
        // The unanswered peer entry goes once the node knows the address is its own.
        QVERIFY(!node->members().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(node->members().isEmpty(), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(mirror.links(), 0, 3000);
        const quint64 accepted = mirror.acceptedLinks();
        // Backoff alone would have redialled within 2 s.
        QVERIFY(!QTest::qWaitFor([&] { return mirror.acceptedLinks() > accepted; }, 2500));
        QCOMPARE(node->cluster()->handshakeFailures().size(), 0);
        QVERIFY(node->cluster()->memberInfos().size() == 1);
        QVERIFY(stopServer(*node));
    }

    // Shutdown waits, at most leaveTimeoutMs, until the data path has nothing left for peers.
    void leaveWaitsForTheDrain()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ServerConfig config = nodeConfig(dir, QStringLiteral("d"), QStringLiteral("node-d"));
        config.leaveTimeoutMs = 300;
        auto stuck = startServer(config);
        QVERIFY(stuck);
        stuck->cluster()->setPendingForPeers([] { return true; });
        QSignalSpy stuckStopped(stuck.get(), &ServerCoordinator::stopped);
        QElapsedTimer elapsed;
        elapsed.start();
        stuck->shutdown();
        QTRY_VERIFY_WITH_TIMEOUT(!stuckStopped.isEmpty(), 3000);
        QVERIFY(elapsed.elapsed() >= 300);

        config = nodeConfig(dir, QStringLiteral("e"), QStringLiteral("node-e"));
        config.leaveTimeoutMs = 10000;
        auto draining = startServer(config);
        QVERIFY(draining);
        bool pending = true;
        draining->cluster()->setPendingForPeers([&pending] { return pending; });
        QSignalSpy stopped(draining.get(), &ServerCoordinator::stopped);
        draining->shutdown();
        QVERIFY(!QTest::qWaitFor([&] { return !stopped.isEmpty(); }, 200));
        pending = false;
        QTRY_VERIFY_WITH_TIMEOUT(!stopped.isEmpty(), 1000);
    }

    // The table version is kept in storage and never goes back across restarts.
    void tableVersionSurvivesRestart()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const ServerConfig config = nodeConfig(dir, QStringLiteral("v"), QStringLiteral("node-v"));
        auto node = startServer(config);
        QVERIFY(node);
        QTRY_VERIFY_WITH_TIMEOUT(node->cluster()->table().version() >= 1, 2000);
        const qint64 first = node->cluster()->table().version();
        QVERIFY(stopServer(*node));
        node.reset();
        node = startServer(config);
        QVERIFY(node);
        QTRY_VERIFY_WITH_TIMEOUT(node->cluster()->table().version() > first, 2000);
        QVERIFY(stopServer(*node));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterMesh)
#include "tst_cluster_mesh.moc"

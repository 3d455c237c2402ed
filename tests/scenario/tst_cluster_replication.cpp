#include "LoopbackBus.h"
#include "RawClient.h"
#include "ServerFactory.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "auth/JwtVerifier.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "metrics/PrometheusText.h"
#include "network/NetworkModule.h"
#include "protocol/Messages.h"
#include "storage/MemoryStorage.h"

#include <QCborArray>
#include <QSignalSpy>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap opBatch(
    const QString &id, const QString &key, const QCborValue &value, const QString &concern = {})
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = QStringLiteral("public");
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { value,
        { QDateTime::currentMSecsSinceEpoch(), 0, QStringLiteral("client-a") }, std::nullopt };
    QCborMap payload { { QStringLiteral("ops"), QCborArray { op.toCbor() } } };
    if (!concern.isEmpty())
        payload.insert(QStringLiteral("writeConcern"), concern);
    return QCborMap { { kType, QStringLiteral("OP_BATCH") }, { kPayload, payload } };
}

} // namespace

// Whole nodes, as ServerFactory wires them, replicating over an in-process bus: what
// tst_replicator checks part by part, here through the client protocol.
class tst_ClusterReplication : public QObject
{
    Q_OBJECT

    std::unique_ptr<LoopbackCluster> m_cluster;
    std::map<QString, std::unique_ptr<ServerCoordinator>> m_nodes;

    ServerCoordinator *startNode(const QString &id)
    {
        ServerConfig config = testConfig();
        config.nodeId = id;
        config.writeAckTimeoutMs = 300;
        ServerCoordinator::Modules modules;
        modules.storage = new storage::MemoryStorage;
        modules.network
            = new network::NetworkModule(QHostAddress::LocalHost, 0, config.maxFrameBytes);
        modules.cluster = new cluster::ClusterModule(QHostAddress::LocalHost, 0);
        modules.bus = m_cluster->add(id);
        QString error;
        modules.verifier = auth::JwtVerifier::create(kTestSecret, &error);
        auto node = std::unique_ptr<ServerCoordinator>(
            ServerFactory::assemble(config, std::move(modules)));
        QSignalSpy ready(node.get(), &ServerCoordinator::ready);
        node->start();
        if (!ready.wait(5000))
            return nullptr;
        ServerCoordinator *raw = node.get();
        m_nodes[id] = std::move(node);
        return raw;
    }

    std::unique_ptr<RawClient> client(ServerCoordinator &node)
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(
                node.port(), TestTokens::userToken(kTestSecret, "user-1", { "USER" })))
            return nullptr;
        return c;
    }

private Q_SLOTS:
    void init()
    {
        m_cluster = std::make_unique<LoopbackCluster>();
        QVERIFY(startNode(QStringLiteral("a")));
        QVERIFY(startNode(QStringLiteral("b")));
        m_cluster->setTable();
    }

    void cleanup()
    {
        for (auto &[id, node] : m_nodes)
            QVERIFY(stopServer(*node));
        m_nodes.clear();
        m_cluster.reset();
    }

    void writeOnAReachesBAndItsLiveQuery()
    {
        ServerCoordinator &a = *m_nodes.at(QStringLiteral("a"));
        ServerCoordinator &b = *m_nodes.at(QStringLiteral("b"));
        auto watcher = client(b);
        QVERIFY(watcher);
        watcher->send(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("q1") },
                    { QStringLiteral("mapName"), QStringLiteral("public") },
                    { QStringLiteral("query"), QCborMap {} } } } });
        QVERIFY(watcher->take(QStringLiteral("QUERY_RESP")));

        auto writer = client(a);
        QVERIFY(writer);
        writer->send(opBatch(QStringLiteral("1"), QStringLiteral("k"), 42));
        const auto ack = writer->takeAck();
        QVERIFY(ack);
        // At the ack the peer already holds the key.
        QVERIFY(b.getMap(QStringLiteral("public")));
        QCOMPARE(b.getMap(QStringLiteral("public"))->get(QStringLiteral("k")), QCborValue(42));
        const auto update = watcher->take(QStringLiteral("QUERY_UPDATE"));
        QVERIFY(update);
        QCOMPARE(update->value(kPayload).toMap().value(QStringLiteral("key")).toString(),
            QStringLiteral("k"));

        QCOMPARE(a.counters().replicateChangesSent, quint64(1));
        QCOMPARE(b.counters().replicateChangesReceived, quint64(1));
        QCOMPARE(a.counters().acksDegraded, quint64(0));

        const QByteArray metrics = metrics::PrometheusText::render(a);
        QVERIFY(metrics.contains("wingman_cluster_replicate_changes_sent_total{peer=\"b\"} 1\n"));
        QVERIFY(metrics.contains("wingman_cluster_acks_degraded_total 0\n"));
        QVERIFY(metrics.contains("wingman_cluster_ack_wait_seconds_bucket{le=\"+Inf\"} 1\n"));
        QVERIFY(metrics.contains("wingman_cluster_ack_wait_seconds_count 1\n"));
    }

    void cutPeerGivesDegradedAckThenConverges()
    {
        ServerCoordinator &a = *m_nodes.at(QStringLiteral("a"));
        ServerCoordinator &b = *m_nodes.at(QStringLiteral("b"));
        m_cluster->hold(QStringLiteral("a"), QStringLiteral("b"));
        auto writer = client(a);
        QVERIFY(writer);
        writer->send(opBatch(QStringLiteral("1"), QStringLiteral("k"), 1));
        const auto ack = writer->takeAck();
        QVERIFY(ack); // after writeAckTimeoutMs, not rejected
        QCOMPARE(a.counters().acksDegraded, quint64(1));
        QVERIFY(!b.getMap(QStringLiteral("public"))
            || !b.getMap(QStringLiteral("public"))->get(QStringLiteral("k")));

        // The link drops (the held frame is lost with it) and comes back: the queue replays.
        m_cluster->cut(QStringLiteral("a"), QStringLiteral("b"));
        m_cluster->release(QStringLiteral("a"), QStringLiteral("b"));
        m_cluster->heal(QStringLiteral("a"), QStringLiteral("b"));
        QTRY_VERIFY(b.getMap(QStringLiteral("public")));
        QTRY_COMPARE(b.getMap(QStringLiteral("public"))->get(QStringLiteral("k")), QCborValue(1));
        QVERIFY(a.counters().hintsReplayed >= 1);
        QTRY_COMPARE(a.counters().replicationQueueBytes, quint64(0));
    }
};

QTEST_MAIN(tst_ClusterReplication)
#include "tst_cluster_replication.moc"

// Cluster-wide GC and TTL (docs/cluster.md §6) on three in-process nodes behind TcpChaosProxies,
// sharing one clock the test moves.
#include "ClusterNodes.h"
#include "RawClient.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterGc.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QTest>

#include <atomic>
#include <memory>

using namespace wingman;
using namespace wingman::test;

namespace {

constexpr qint64 kHourMs = 60LL * 60 * 1000;
const QString kMap = QStringLiteral("gc");
const QByteArray kClusterSecret("cluster-gc-test-cluster-secret");

QCborMap lwwOp(const QString &id, const QString &key, const QCborValue &value, qint64 millis,
    std::optional<qint64> ttlMs = std::nullopt)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = kMap;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, QStringLiteral("client") }, ttlMs };
    return op.toCbor();
}

// Sends one op to node and waits for its OP_ACK; true when it succeeded.
bool write(ServerCoordinator &node, const QCborMap &op)
{
    RawClient client;
    if (!client.connectAndAuthenticate(
            node.port(), TestTokens::userToken(kTestSecret, QStringLiteral("writer"))))
        return false;
    client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("OP_BATCH") },
        { QStringLiteral("payload"), QCborMap { { QStringLiteral("ops"), QCborArray { op } } } } });
    for (int acks = 0; acks < 2; ++acks) {
        const auto ack = client.take(QStringLiteral("OP_ACK"), 15000);
        if (!ack)
            return false;
        for (const QCborValue &result : ack->value(QStringLiteral("payload"))
                                            .toMap()
                                            .value(QStringLiteral("results"))
                                            .toArray()) {
            if (result.toMap().value(QStringLiteral("opId")).toString()
                == op.value(QStringLiteral("id")).toString())
                return result.toMap().value(QStringLiteral("success")).toBool();
        }
    }
    return false;
}

std::optional<crdt::LwwRecord> recordOn(const ServerCoordinator &node, const QString &key)
{
    const crdt::LwwMap *map = node.getMap(kMap);
    return map ? map->getRecord(key) : std::nullopt;
}

} // namespace

class tst_ClusterGc : public QObject
{
    Q_OBJECT

    using Node = ProxiedNode;

    // Every node reads the same wall clock plus the offset the test moves.
    std::shared_ptr<std::atomic<qint64>> m_offset;

    qint64 now() const { return QDateTime::currentMSecsSinceEpoch() + m_offset->load(); }

    bool startNode(Node &node, const QString &nodeId, const Node *peer, qint64 forgetAfterMs)
    {
        return startProxied(node, nodeId, peer, kClusterSecret, [&](ServerConfig &config) {
            config.clock = [offset = m_offset] {
                return QDateTime::currentMSecsSinceEpoch() + offset->load();
            };
            config.gcIntervalMs = 200;
            config.gcAgeMs = kHourMs;
            config.antiEntropyIntervalMs = 500;
            config.memberForgetAfterMs = forgetAfterMs;
        });
    }

    bool startThree(Node &a, Node &b, Node &c, qint64 forgetAfterMs = 24 * kHourMs)
    {
        if (!startNode(a, QStringLiteral("node-a"), nullptr, forgetAfterMs)
            || !startNode(b, QStringLiteral("node-b"), &a, forgetAfterMs)
            || !startNode(c, QStringLiteral("node-c"), &b, forgetAfterMs))
            return false;
        const QList<ServerCoordinator *> nodes { a.server.get(), b.server.get(), c.server.get() };
        return QTest::qWaitFor([&] { return ClusterNodes::meshed(nodes); }, 10000);
    }

    static void cutOff(Node &victim, Node &x, Node &y)
    {
        victim.proxy->setMode(TcpChaosProxy::Mode::Cut);
        x.proxy->setModeFor(victim.server->nodeId(), TcpChaosProxy::Mode::Cut);
        y.proxy->setModeFor(victim.server->nodeId(), TcpChaosProxy::Mode::Cut);
    }

    static void heal(const QList<Node *> &nodes)
    {
        for (Node *node : nodes)
            node->proxy->setMode(TcpChaosProxy::Mode::Pass);
        for (Node *node : nodes) {
            for (Node *other : nodes)
                node->proxy->setModeFor(other->server->nodeId(), TcpChaosProxy::Mode::Pass);
        }
    }

    static QString coordinatorOf(const Node &node)
    {
        return node.server->cluster()->table().coordinator();
    }

    // A key whose partition `owner` owns in node's table.
    static QString keyOwnedBy(const Node &node, const QString &owner)
    {
        const cluster::PartitionTable &table = node.server->cluster()->table();
        for (int i = 0;; ++i) {
            const QString key = QStringLiteral("ttl-%1").arg(i);
            if (table.owner(cluster::PartitionTable::partitionOf(key)) == owner)
                return key;
        }
    }

private Q_SLOTS:
    void init() { m_offset = std::make_shared<std::atomic<qint64>>(0); }

    void horizonIsTheOldestReportLessTheAge()
    {
        Node a, b, c;
        QVERIFY(startThree(a, b, c));
        const QList<const Node *> nodes { &a, &b, &c };
        const qint64 deleted = now();
        QVERIFY(write(*a.server, lwwOp(QStringLiteral("1"), QStringLiteral("k"), 1, deleted - 10)));
        QVERIFY(write(*a.server, lwwOp(QStringLiteral("2"), QStringLiteral("k"), {}, deleted)));
        QVERIFY(write(*a.server, lwwOp(QStringLiteral("3"), QStringLiteral("kept"), 2, deleted)));
        for (const Node *node : nodes)
            QTRY_VERIFY_WITH_TIMEOUT(recordOn(*node->server, QStringLiteral("k"))
                    && recordOn(*node->server, QStringLiteral("k"))->isTombstone(),
                10000);
        // Rounds commit all along, but below the tombstone until the clock passes it by gcAge.
        QTRY_VERIFY_WITH_TIMEOUT(a.server->clusterGc()->horizon() > 0, 10000);
        for (const Node *node : nodes) {
            QVERIFY(node->server->clusterGc()->horizon() < deleted);
            QVERIFY(recordOn(*node->server, QStringLiteral("k")));
        }

        m_offset->store(2 * kHourMs);
        for (const Node *node : nodes) {
            QTRY_VERIFY_WITH_TIMEOUT(!recordOn(*node->server, QStringLiteral("k")), 10000);
            const qint64 horizon = node->server->clusterGc()->horizon();
            QVERIFY(horizon > deleted);
            QVERIFY(horizon <= now() - kHourMs);
            QCOMPARE(recordOn(*node->server, QStringLiteral("kept"))->value, QCborValue(2));
        }
        QCOMPARE(lwwRootOf(*b.server, kMap), lwwRootOf(*a.server, kMap));
        QCOMPARE(lwwRootOf(*c.server, kMap), lwwRootOf(*a.server, kMap));
        // One coordinator ran them; the others only answered.
        const QString coordinator = coordinatorOf(a);
        for (const Node *node : nodes) {
            const quint64 committed = node->server->clusterGc()->counters().roundsCommitted;
            QVERIFY(node->server->nodeId() == coordinator ? committed > 0 : committed == 0);
        }
    }

    void downMemberBlocksPruningUntilForgotten()
    {
        Node a, b, c;
        QVERIFY(startThree(a, b, c, 8000));
        const QString coordinator = coordinatorOf(a);
        // The victim is neither the coordinator nor, after it is cut off, able to reach it.
        Node *nodesById[] = { &a, &b, &c };
        Node *victim = nullptr;
        QList<Node *> rest;
        for (Node *node : nodesById) {
            if (!victim && node->server->nodeId() != coordinator)
                victim = node;
            else
                rest.append(node);
        }
        cutOff(*victim, *rest[0], *rest[1]);
        QTRY_VERIFY_WITH_TIMEOUT(rest[0]->server->cluster()->replicaPeers().size() == 2
                && !rest[0]->server->cluster()->isReachable(victim->server->nodeId()),
            10000);

        const qint64 deleted = now();
        QVERIFY(
            write(*rest[0]->server, lwwOp(QStringLiteral("1"), QStringLiteral("k"), {}, deleted)));
        QTRY_VERIFY_WITH_TIMEOUT(recordOn(*rest[1]->server, QStringLiteral("k")), 10000);
        m_offset->store(2 * kHourMs);
        const cluster::ClusterGc *gc
            = (rest[0]->server->nodeId() == coordinator ? rest[0] : rest[1])->server->clusterGc();
        const quint64 started = gc->counters().roundsStarted;
        // Two more rounds began after the clock moved, so one of them asked the down member
        // and gave up on it.
        QTRY_VERIFY_WITH_TIMEOUT(gc->counters().roundsStarted >= started + 2, 10000);
        for (const Node *node : rest) {
            QVERIFY(recordOn(*node->server, QStringLiteral("k")));
            QVERIFY(node->server->clusterGc()->horizon() < deleted);
        }

        // Forgotten: no longer listed, so the next round commits without it.
        for (const Node *node : rest) {
            QTRY_VERIFY_WITH_TIMEOUT(node->server->cluster()->replicaPeers().size() == 1, 20000);
            QTRY_VERIFY_WITH_TIMEOUT(!recordOn(*node->server, QStringLiteral("k")), 10000);
            QVERIFY(node->server->clusterGc()->horizon() > deleted);
        }
    }

    void ttlTombstoneIsWrittenOnceByTheOwner()
    {
        Node a, b, c;
        QVERIFY(startThree(a, b, c));
        const QList<const Node *> nodes { &a, &b, &c };
        // For each owner, any other node's expiry tombstone would differ in its node id: one of
        // them sorts after the owner's and would win the merge everywhere.
        QStringList keys;
        for (const Node *owner : nodes)
            keys.append(keyOwnedBy(a, owner->server->nodeId()));
        const qint64 written = now();
        for (int i = 0; i < keys.size(); ++i)
            QVERIFY(write(*a.server, lwwOp(QString::number(i + 1), keys[i], i, written, 1000)));
        for (const Node *node : nodes) {
            for (const QString &key : std::as_const(keys))
                QTRY_VERIFY_WITH_TIMEOUT(recordOn(*node->server, key), 10000);
        }

        m_offset->store(5000);
        for (int i = 0; i < keys.size(); ++i) {
            const QString owner = nodes[i]->server->nodeId();
            for (const Node *node : nodes) {
                QTRY_VERIFY_WITH_TIMEOUT(recordOn(*node->server, keys[i])->isTombstone(), 10000);
                const crdt::LwwRecord tombstone = *recordOn(*node->server, keys[i]);
                QCOMPARE(tombstone.timestamp.nodeId, owner);
                QCOMPARE(tombstone.timestamp.millis, written + 1000);
                QCOMPARE(tombstone.timestamp.counter, 0);
            }
        }
        QCOMPARE(lwwRootOf(*b.server, kMap), lwwRootOf(*a.server, kMap));
        QCOMPARE(lwwRootOf(*c.server, kMap), lwwRootOf(*a.server, kMap));
    }

    void nodeAwayPastTheHorizonDiscardsAndCatchesUp()
    {
        Node a, b, c;
        QVERIFY(startThree(a, b, c, 3000));
        const qint64 start = now();
        QVERIFY(write(*a.server, lwwOp(QStringLiteral("1"), QStringLiteral("zombie"), 1, start)));
        QVERIFY(write(*a.server, lwwOp(QStringLiteral("2"), QStringLiteral("old"), 2, start)));
        QTRY_VERIFY_WITH_TIMEOUT(recordOn(*c.server, QStringLiteral("zombie"))
                && recordOn(*c.server, QStringLiteral("old")),
            10000);
        // C answered GC rounds, so it has a last contact to compare with later.
        QTRY_VERIFY_WITH_TIMEOUT(c.server->clusterGc()->lastContact() > 0, 10000);

        cutOff(c, a, b);
        for (const Node *node : { &a, &b })
            QTRY_VERIFY_WITH_TIMEOUT(node->server->cluster()->replicaPeers().size() == 1, 20000);
        // Deleted while C is away, and pruned once the clock is past it by gcAge.
        QVERIFY(
            write(*a.server, lwwOp(QStringLiteral("3"), QStringLiteral("zombie"), {}, start + 1)));
        m_offset->store(2 * kHourMs);
        for (const Node *node : { &a, &b })
            QTRY_VERIFY_WITH_TIMEOUT(!recordOn(*node->server, QStringLiteral("zombie")), 10000);
        // A write C acknowledges while cut off, newer than any horizon: it must survive.
        QVERIFY(write(*c.server, lwwOp(QStringLiteral("1"), QStringLiteral("fresh"), 3, now())));
        QCOMPARE(c.server->clusterGc()->counters().discards, quint64(0));

        heal({ &a, &b, &c });
        const QList<const Node *> nodes { &a, &b, &c };
        QTRY_VERIFY_WITH_TIMEOUT(
            ClusterNodes::meshed({ a.server.get(), b.server.get(), c.server.get() }), 20000);
        for (const Node *node : nodes) {
            QTRY_VERIFY_WITH_TIMEOUT(recordOn(*node->server, QStringLiteral("fresh"))
                    && recordOn(*node->server, QStringLiteral("old")),
                15000);
            QTRY_VERIFY_WITH_TIMEOUT(
                lwwRootOf(*node->server, kMap) == lwwRootOf(*a.server, kMap), 15000);
            QVERIFY(!recordOn(*node->server, QStringLiteral("zombie")));
        }
        QCOMPARE(lwwSizeOf(*a.server, kMap), qsizetype(2));
        QCOMPARE(c.server->clusterGc()->counters().discards, quint64(1));
    }
};

QTEST_MAIN(tst_ClusterGc)
#include "tst_cluster_gc.moc"

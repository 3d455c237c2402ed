#include "ClusterNodes.h"
#include "RawClient.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "cluster/ClusterModule.h"

#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");
const QString kName = QStringLiteral("visits");
const QByteArray kClusterSecret("cluster-counters-test-secret-01");
constexpr int kWaitMs = 30000;

// A client's COUNTER_SYNC: its own slot of the counter, as the TopGun client keeps it.
void count(RawClient &client, const QString &slot, qint64 increments, qint64 decrements)
{
    client.send(QCborMap { { kType, QStringLiteral("COUNTER_SYNC") },
        { kPayload,
            QCborMap { { QStringLiteral("name"), kName },
                { QStringLiteral("state"),
                    QCborMap { { QStringLiteral("p"), QCborMap { { slot, increments } } },
                        { QStringLiteral("n"), QCborMap { { slot, decrements } } } } } } } });
}

qint64 sum(const QCborMap &side)
{
    qint64 total = 0;
    for (auto it = side.cbegin(); it != side.cend(); ++it)
        total += it.value().toInteger();
    return total;
}

// The counter's value on the client's node (COUNTER_REQUEST), or nullopt without an answer.
std::optional<qint64> valueOn(RawClient &client)
{
    client.send(QCborMap { { kType, QStringLiteral("COUNTER_REQUEST") },
        { kPayload, QCborMap { { QStringLiteral("name"), kName } } } });
    const std::optional<QCborMap> response
        = client.take(QStringLiteral("COUNTER_RESPONSE"), kWaitMs);
    if (!response)
        return std::nullopt;
    const QCborMap state = response->value(kPayload).toMap().value(QStringLiteral("state")).toMap();
    return sum(state.value(QStringLiteral("p")).toMap())
        - sum(state.value(QStringLiteral("n")).toMap());
}

} // namespace

// PN counters across the cluster under faults (docs/cluster.md §5, §7): what a member missed
// while it was cut off is repaired by anti-entropy's counter digests once the link is back (a
// member sends COUNTER only to members it reaches, and nothing is re-sent on link-up).
class tst_ClusterCounters : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void incrementsOnBothSidesOfACutConverge()
    {
        ProxiedNode a, b, c;
        QVERIFY(startProxied(a, QStringLiteral("node-a"), nullptr, kClusterSecret));
        QVERIFY(startProxied(b, QStringLiteral("node-b"), &a, kClusterSecret));
        QVERIFY(startProxied(c, QStringLiteral("node-c"), &b, kClusterSecret));
        const QList<ServerCoordinator *> nodes { a.server.get(), b.server.get(), c.server.get() };
        QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed(nodes), kWaitMs);
        auto onA = RawClient::authenticated(a.server->port(), QStringLiteral("a"));
        auto onB = RawClient::authenticated(b.server->port(), QStringLiteral("b"));
        auto onC = RawClient::authenticated(c.server->port(), QStringLiteral("c"));
        QVERIFY(onA && onB && onC);
        count(*onA, QStringLiteral("client-a"), 1, 0);
        QTRY_VERIFY_WITH_TIMEOUT(
            valueOn(*onA) == 1 && valueOn(*onB) == 1 && valueOn(*onC) == 1, kWaitMs);

        // C is cut off; each side counts on.
        a.proxy->setModeFor(QStringLiteral("node-c"), TcpChaosProxy::Mode::Cut);
        b.proxy->setModeFor(QStringLiteral("node-c"), TcpChaosProxy::Mode::Cut);
        c.proxy->setMode(TcpChaosProxy::Mode::Cut);
        QTRY_VERIFY_WITH_TIMEOUT(!a.server->cluster()->isReachable(QStringLiteral("node-c"))
                && !b.server->cluster()->isReachable(QStringLiteral("node-c"))
                && !c.server->cluster()->isReachable(QStringLiteral("node-a"))
                && !c.server->cluster()->isReachable(QStringLiteral("node-b")),
            kWaitMs);
        count(*onA, QStringLiteral("client-a"), 5, 0);
        count(*onB, QStringLiteral("client-b"), 3, 1);
        count(*onC, QStringLiteral("client-c"), 10, 4);
        QTRY_VERIFY_WITH_TIMEOUT(valueOn(*onA) == 7 && valueOn(*onB) == 7, kWaitMs);
        QCOMPARE(valueOn(*onC), std::optional<qint64>(7)); // 1 + 10 - 4

        // Healed: every node ends with every side's counts, 5 + 2 + 6.
        a.proxy->setModeFor(QStringLiteral("node-c"), TcpChaosProxy::Mode::Pass);
        b.proxy->setModeFor(QStringLiteral("node-c"), TcpChaosProxy::Mode::Pass);
        c.proxy->setMode(TcpChaosProxy::Mode::Pass);
        QTRY_VERIFY_WITH_TIMEOUT(
            valueOn(*onA) == 13 && valueOn(*onB) == 13 && valueOn(*onC) == 13, kWaitMs);

        for (ProxiedNode *node : { &c, &b, &a })
            QVERIFY(stopServer(*node->server));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterCounters)
#include "tst_cluster_counters.moc"

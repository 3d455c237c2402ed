#include "ClusterNodes.h"
#include "RawClient.h"
#include "ServerProcess.h"
#include "TcpChaosProxy.h"
#include "TestServer.h"
#include "cluster/ClusterModule.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");
const QByteArray kClusterSecret("cluster-locks-test-secret-0123");
constexpr int kWaitMs = 30000;

QCborMap request(const QString &requestId, const QString &name, qint64 ttl)
{
    return QCborMap { { kType, QStringLiteral("LOCK_REQUEST") },
        { kPayload,
            QCborMap { { QStringLiteral("requestId"), requestId }, { QStringLiteral("name"), name },
                { QStringLiteral("ttl"), ttl } } } };
}

QCborMap release(const QString &requestId, const QString &name, qint64 token)
{
    return QCborMap { { kType, QStringLiteral("LOCK_RELEASE") },
        { kPayload,
            QCborMap { { QStringLiteral("requestId"), requestId }, { QStringLiteral("name"), name },
                { QStringLiteral("fencingToken"), double(token) } } } };
}

// The token of the grant for requestId, or -1 when none came (or another's did).
qint64 granted(RawClient &client, const QString &requestId, const QString &name)
{
    const QCborMap payload
        = RawClient::payloadOf(client.take(QStringLiteral("LOCK_GRANTED"), kWaitMs));
    if (payload.value(QStringLiteral("requestId")).toString() != requestId
        || payload.value(QStringLiteral("name")).toString() != name) {
        return -1;
    }
    const QCborValue token = payload.value(QStringLiteral("fencingToken"));
    return token.isDouble() ? qint64(token.toDouble()) : token.toInteger(-1);
}

bool releasedOk(RawClient &client, const QString &requestId)
{
    const QCborMap payload
        = RawClient::payloadOf(client.take(QStringLiteral("LOCK_RELEASED"), kWaitMs));
    return payload.value(QStringLiteral("requestId")).toString() == requestId
        && payload.value(QStringLiteral("success")).toBool();
}

// Acquires and releases name through client; the grant's token, or -1.
qint64 cycle(RawClient &client, const QString &id, const QString &name)
{
    client.send(request(id, name, 60000));
    const qint64 token = granted(client, id, name);
    if (token < 0)
        return -1;
    client.send(release(id + QStringLiteral("-release"), name, token));
    return releasedOk(client, id + QStringLiteral("-release")) ? token : -1;
}

QString ownerIn(const ServerCoordinator &viewer, const QString &name)
{
    return viewer.cluster()->table().owner(cluster::PartitionTable::partitionOf(name));
}

// A lock name whose partition nodeId owns in viewer's table.
QString nameOwnedBy(const ServerCoordinator &viewer, const QString &nodeId)
{
    for (int i = 0; i < 1000; ++i) {
        const QString candidate = QStringLiteral("job-%1").arg(i);
        if (ownerIn(viewer, candidate) == nodeId)
            return candidate;
    }
    return {};
}

bool tableIs(const QList<ServerCoordinator *> &nodes, const QStringList &members)
{
    for (const ServerCoordinator *node : nodes) {
        if (node->cluster()->table().members() != members)
            return false;
    }
    return true;
}

} // namespace

// Locks across the cluster under faults (docs/cluster.md §7, §11 tst_cluster_locks): the owner of
// the name's partition decides; every member keeps the lock's record so that a new owner honours
// the lease and continues above its token; entries re-send queued requests after a table change;
// a node that goes down takes its clients' locks with it.
class tst_ClusterLocks : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Granted by the owner through a non-owner entry; the owner leaves while the lock is held and
    // a request waits: the new owner grants the re-sent request once, not before the lease ends,
    // with a larger token.
    void failoverHonoursTheLeaseAndGrantsTheReSentRequestOnce()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3, 15000));
        ServerCoordinator *a = cluster.node(0);
        ServerCoordinator *b = cluster.node(1);
        ServerCoordinator *c = cluster.node(2);
        const QString name = nameOwnedBy(*a, b->nodeId());
        QVERIFY(!name.isEmpty());
        auto holder = RawClient::authenticated(a->port(), QStringLiteral("holder"));
        auto waiter = RawClient::authenticated(c->port(), QStringLiteral("waiter"));
        QVERIFY(holder && waiter);

        constexpr qint64 kLease = 10000;
        // The lease begins when the owner grants, after this.
        QElapsedTimer sinceRequest;
        sinceRequest.start();
        holder->send(request(QStringLiteral("h1"), name, kLease));
        const qint64 first = granted(*holder, QStringLiteral("h1"), name);
        QVERIFY(first > 0);
        waiter->send(request(QStringLiteral("w1"), name, 60000));
        QVERIFY(waiter->roundTrip(kWaitMs));
        QVERIFY(!waiter->has(QStringLiteral("LOCK_GRANTED")));

        QVERIFY(cluster.stop(b));
        QTRY_VERIFY_WITH_TIMEOUT(tableIs({ a, c }, { a->nodeId(), c->nodeId() }), kWaitMs);
        const qint64 second = granted(*waiter, QStringLiteral("w1"), name);
        QVERIFY(second > first);
        QVERIFY2(sinceRequest.elapsed() >= kLease - 100,
            qPrintable(QStringLiteral("granted %1 ms into a %2 ms lease")
                           .arg(sinceRequest.elapsed())
                           .arg(kLease)));

        // The waiter releases; the lock moves on, and w1 was granted exactly once.
        waiter->send(release(QStringLiteral("w1-release"), name, second));
        QVERIFY(releasedOk(*waiter, QStringLiteral("w1-release")));
        holder->send(request(QStringLiteral("h2"), name, kLease));
        const qint64 third = granted(*holder, QStringLiteral("h2"), name);
        QVERIFY(third > second);
        QVERIFY(waiter->roundTrip(kWaitMs));
        QVERIFY(!waiter->has(QStringLiteral("LOCK_GRANTED")));
    }

    // The same with the owner killed -9 (real processes): the lease it granted still holds on the
    // node that takes over, which learned it when it was granted.
    void ownerKilledHonoursTheLease()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto arguments = [&dir](const QString &id, const QString &peer) {
            QStringList list { QStringLiteral("--node-id"), id, QStringLiteral("--storage"),
                QStringLiteral("sqlite:") + dir.filePath(id + QStringLiteral(".db")),
                QStringLiteral("--cluster-secret"), QString::fromLatin1(kClusterSecret) };
            if (!peer.isEmpty())
                list << QStringLiteral("--peers") << peer;
            return list;
        };
        ServerProcess a;
        ServerProcess b;
        ServerProcess c;
        a.start(arguments(QStringLiteral("node-a"), {}), dir.path());
        QVERIFY2(a.waitForReady(), qPrintable(a.output()));
        const QString seed = QStringLiteral("127.0.0.1:%1").arg(a.clusterPort());
        b.start(arguments(QStringLiteral("node-b"), seed), dir.path());
        c.start(arguments(QStringLiteral("node-c"), seed), dir.path());
        QVERIFY2(b.waitForReady(), qPrintable(b.output()));
        QVERIFY2(c.waitForReady(), qPrintable(c.output()));
        // Owners as the table of the three assigns them: node-b owns p ≡ 1 (mod 3).
        QString name;
        for (int i = 0; name.isEmpty() && i < 1000; ++i) {
            const QString candidate = QStringLiteral("job-%1").arg(i);
            if (cluster::PartitionTable::partitionOf(candidate) % 3 == 1)
                name = candidate;
        }
        auto holder = RawClient::authenticated(a.port(), QStringLiteral("holder"));
        auto waiter = RawClient::authenticated(c.port(), QStringLiteral("waiter"));
        QVERIFY(holder && waiter);
        // Every node in the table: a map with three ACTIVE nodes.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                for (RawClient *client : { holder.get(), waiter.get() }) {
                    client->send(QCborMap { { kType, QStringLiteral("PARTITION_MAP_REQUEST") } });
                    const std::optional<QCborMap> map
                        = client->take(QStringLiteral("PARTITION_MAP"), kWaitMs);
                    int active = 0;
                    for (const QCborValue &node : map
                            ? map->value(kPayload).toMap().value(QStringLiteral("nodes")).toArray()
                            : QCborArray()) {
                        active
                            += node.toMap().value(QStringLiteral("status")).toString() == u"ACTIVE";
                    }
                    if (active != 3)
                        return false;
                }
                return true;
            }(),
            kWaitMs);

        constexpr qint64 kLease = 10000;
        // The lease begins when the owner grants, after this.
        QElapsedTimer sinceRequest;
        sinceRequest.start();
        holder->send(request(QStringLiteral("h1"), name, kLease));
        const qint64 first = granted(*holder, QStringLiteral("h1"), name);
        QVERIFY(first > 0);
        waiter->send(request(QStringLiteral("w1"), name, 60000));
        QVERIFY(waiter->roundTrip(kWaitMs));
        QVERIFY(!waiter->has(QStringLiteral("LOCK_GRANTED")));

        b.kill();
        const qint64 second = granted(*waiter, QStringLiteral("w1"), name);
        QVERIFY2(second > first, qPrintable(c.output()));
        QVERIFY2(sinceRequest.elapsed() >= kLease - 100,
            qPrintable(QStringLiteral("granted %1 ms into a %2 ms lease")
                           .arg(sinceRequest.elapsed())
                           .arg(kLease)));
    }

    // The holder's entry node is cut off and declared down: its clients' locks are released long
    // before their lease would end.
    void holdersNodeDownReleasesItsLocks()
    {
        ProxiedNode a, b, c;
        QVERIFY(startProxied(a, QStringLiteral("node-a"), nullptr, kClusterSecret));
        QVERIFY(startProxied(b, QStringLiteral("node-b"), &a, kClusterSecret));
        QVERIFY(startProxied(c, QStringLiteral("node-c"), &b, kClusterSecret));
        const QList<ServerCoordinator *> nodes { a.server.get(), b.server.get(), c.server.get() };
        QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed(nodes), kWaitMs);
        const QString name = nameOwnedBy(*a.server, QStringLiteral("node-a"));
        QVERIFY(!name.isEmpty());
        auto holder = RawClient::authenticated(c.server->port(), QStringLiteral("holder"));
        auto waiter = RawClient::authenticated(b.server->port(), QStringLiteral("waiter"));
        QVERIFY(holder && waiter);

        holder->send(request(QStringLiteral("h1"), name, 300000));
        const qint64 first = granted(*holder, QStringLiteral("h1"), name);
        QVERIFY(first > 0);
        waiter->send(request(QStringLiteral("w1"), name, 60000));
        QVERIFY(waiter->roundTrip(kWaitMs));
        QVERIFY(!waiter->has(QStringLiteral("LOCK_GRANTED")));

        a.proxy->setModeFor(QStringLiteral("node-c"), TcpChaosProxy::Mode::Cut);
        b.proxy->setModeFor(QStringLiteral("node-c"), TcpChaosProxy::Mode::Cut);
        c.proxy->setMode(TcpChaosProxy::Mode::Cut);
        QVERIFY(granted(*waiter, QStringLiteral("w1"), name) > first);

        for (ProxiedNode *node : { &c, &b, &a })
            QVERIFY(stopServer(*node->server));
    }

    // Through two owner failovers and the first owner's return (with its stale stored token),
    // every grant's token is above every earlier one.
    void tokensNeverGoBackwards()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3, 15000));
        ServerCoordinator *a = cluster.node(0);
        ServerCoordinator *b = cluster.node(1);
        ServerCoordinator *c = cluster.node(2);
        const QString name = nameOwnedBy(*a, b->nodeId());
        QVERIFY(!name.isEmpty());
        auto onA = RawClient::authenticated(a->port(), QStringLiteral("a"));
        QVERIFY(onA);
        const qint64 first = cycle(*onA, QStringLiteral("t1"), name);
        QVERIFY(first > 0);

        QVERIFY(cluster.stop(b));
        QTRY_VERIFY_WITH_TIMEOUT(tableIs({ a, c }, { a->nodeId(), c->nodeId() }), kWaitMs);
        ServerCoordinator *owner = ownerIn(*a, name) == a->nodeId() ? a : c;
        ServerCoordinator *survivor = owner == a ? c : a;
        auto onSurvivor = RawClient::authenticated(survivor->port(), QStringLiteral("s"));
        QVERIFY(onSurvivor);
        const qint64 second = cycle(*onSurvivor, QStringLiteral("t2"), name);
        QVERIFY2(second > first, qPrintable(QStringLiteral("%1 after %2").arg(second).arg(first)));

        QVERIFY(cluster.stop(owner));
        QTRY_VERIFY_WITH_TIMEOUT(tableIs({ survivor }, { survivor->nodeId() }), kWaitMs);
        const qint64 third = cycle(*onSurvivor, QStringLiteral("t3"), name);
        QVERIFY2(third > second, qPrintable(QStringLiteral("%1 after %2").arg(third).arg(second)));

        // node-b returns on its data, which holds only the first token; it owns the name again.
        ServerCoordinator *back = cluster.start(QStringLiteral("node-b"));
        QVERIFY(back);
        QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed({ survivor, back }), kWaitMs);
        QCOMPARE(ownerIn(*survivor, name), back->nodeId());
        const qint64 fourth = cycle(*onSurvivor, QStringLiteral("t4"), name);
        QVERIFY2(fourth > third, qPrintable(QStringLiteral("%1 after %2").arg(fourth).arg(third)));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterLocks)
#include "tst_cluster_locks.moc"

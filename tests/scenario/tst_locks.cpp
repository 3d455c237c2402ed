#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "auth/SecurityPolicy.h"
#include "client/SyncEngine.h"

#include <QDateTime>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <memory>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap request(const QCborValue &requestId, const QCborValue &name,
    const QCborValue &ttl = QCborValue(QCborValue::Undefined))
{
    QCborMap payload { { QStringLiteral("requestId"), requestId },
        { QStringLiteral("name"), name } };
    if (!ttl.isUndefined())
        payload.insert(QStringLiteral("ttl"), ttl);
    return QCborMap { { kType, QStringLiteral("LOCK_REQUEST") }, { kPayload, payload } };
}

QCborMap release(const QCborValue &requestId, const QCborValue &name, const QCborValue &token)
{
    QCborMap payload { { QStringLiteral("name"), name },
        { QStringLiteral("fencingToken"), token } };
    if (!requestId.isUndefined())
        payload.insert(QStringLiteral("requestId"), requestId);
    return QCborMap { { kType, QStringLiteral("LOCK_RELEASE") }, { kPayload, payload } };
}

qint64 tokenOf(const QCborMap &payload)
{
    const QCborValue token = payload.value(QStringLiteral("fencingToken"));
    return token.isDouble() ? qint64(token.toDouble()) : token.toInteger(-1);
}

// The grant for requestId on client (waiting up to 10 s); its token, or -1.
qint64 granted(RawClient &client, const QString &requestId, const QString &name)
{
    const QCborMap payload
        = RawClient::payloadOf(client.take(QStringLiteral("LOCK_GRANTED"), 10000));
    if (payload.value(QStringLiteral("requestId")).toString() != requestId
        || payload.value(QStringLiteral("name")).toString() != name) {
        return -1;
    }
    return tokenOf(payload);
}

// LOCK_RELEASED for requestId: its success, or nullopt when none came or it is another's.
std::optional<bool> released(RawClient &client, const QString &requestId)
{
    const QCborMap payload
        = RawClient::payloadOf(client.take(QStringLiteral("LOCK_RELEASED"), 10000));
    if (payload.isEmpty() || payload.value(QStringLiteral("requestId")).toString() != requestId)
        return std::nullopt;
    return payload.value(QStringLiteral("success")).toBool();
}

void verifyError(RawClient &client, int code, const QString &text)
{
    const QCborMap error = RawClient::payloadOf(client.take(QStringLiteral("ERROR"), 10000));
    QCOMPARE(error.value(QStringLiteral("code")).toInteger(), code);
    QCOMPARE(error.value(QStringLiteral("message")).toString(), text);
}

// A node clock the test moves by hand.
struct FakeClock {
    std::shared_ptr<std::atomic<qint64>> ms
        = std::make_shared<std::atomic<qint64>>(QDateTime::currentMSecsSinceEpoch());
    std::function<qint64()> function() const
    {
        return [ms = ms] { return ms->load(); };
    }
    void advance(qint64 by) { *ms += by; }
};

} // namespace

// Locks (docs/protocol.md "Locks").
class tst_Locks : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void grantsQueuesAndPassesOnInOrder()
    {
        auto server = startServer();
        QVERIFY(server);
        auto a = RawClient::authenticated(server->port(), QStringLiteral("a"));
        auto b = RawClient::authenticated(server->port(), QStringLiteral("b"));
        auto c = RawClient::authenticated(server->port(), QStringLiteral("c"));
        QVERIFY(a && b && c);

        a->send(request(QStringLiteral("a1"), QStringLiteral("job")));
        const qint64 first = granted(*a, QStringLiteral("a1"), QStringLiteral("job"));
        QVERIFY(first > 0);
        b->send(request(QStringLiteral("b1"), QStringLiteral("job")));
        c->send(request(QStringLiteral("c1"), QStringLiteral("job")));
        QVERIFY(b->roundTrip() && c->roundTrip());
        QVERIFY(!b->has(QStringLiteral("LOCK_GRANTED")));
        QVERIFY(!c->has(QStringLiteral("LOCK_GRANTED")));

        // The owner asking again keeps its token under the new request id.
        a->send(request(QStringLiteral("a2"), QStringLiteral("job"), 20000));
        QCOMPARE(granted(*a, QStringLiteral("a2"), QStringLiteral("job")), first);

        // Only the owner with the matching token releases; every release is answered.
        b->send(release(QStringLiteral("b-rel"), QStringLiteral("job"), double(first)));
        QCOMPARE(released(*b, QStringLiteral("b-rel")), std::optional<bool>(false));
        a->send(release(QStringLiteral("a-bad"), QStringLiteral("job"), double(first + 1)));
        QCOMPARE(released(*a, QStringLiteral("a-bad")), std::optional<bool>(false));
        a->send(release(QStringLiteral("a-rel"), QStringLiteral("job"), double(first)));
        QCOMPARE(released(*a, QStringLiteral("a-rel")), std::optional<bool>(true));

        const qint64 second = granted(*b, QStringLiteral("b1"), QStringLiteral("job"));
        QVERIFY(second > first);
        QVERIFY(c->roundTrip());
        QVERIFY(!c->has(QStringLiteral("LOCK_GRANTED")));
        b->send(release(QCborValue(QCborValue::Undefined), QStringLiteral("job"), double(second)));
        QCOMPARE(released(*b, QString()), std::optional<bool>(true));
        const qint64 third = granted(*c, QStringLiteral("c1"), QStringLiteral("job"));
        QVERIFY(third > second);
        c->send(release(QStringLiteral("c-rel"), QStringLiteral("job"), double(third)));
        QCOMPARE(released(*c, QStringLiteral("c-rel")), std::optional<bool>(true));

        // Freed, the name still never hands out a smaller token.
        a->send(request(QStringLiteral("a3"), QStringLiteral("job")));
        QVERIFY(granted(*a, QStringLiteral("a3"), QStringLiteral("job")) > third);
        // Another name is independent.
        b->send(request(QStringLiteral("b2"), QStringLiteral("other")));
        QVERIFY(granted(*b, QStringLiteral("b2"), QStringLiteral("other")) > 0);
    }

    void leasesExpireToTheQueueHead()
    {
        FakeClock clock;
        ServerConfig config = testConfig();
        config.clock = clock.function();
        auto server = startServer(config);
        QVERIFY(server);
        auto a = RawClient::authenticated(server->port(), QStringLiteral("a"));
        auto b = RawClient::authenticated(server->port(), QStringLiteral("b"));
        QVERIFY(a && b);
        // A release with a wrong token changes nothing but makes the node look at the lease
        // at once, without waiting for its sweep.
        const auto probe = [](RawClient &client, const QString &id) {
            client.send(release(id, QStringLiteral("job"), 1));
            return released(client, id) == std::optional<bool>(false);
        };

        // No ttl: 10 s.
        a->send(request(QStringLiteral("a1"), QStringLiteral("job")));
        const qint64 first = granted(*a, QStringLiteral("a1"), QStringLiteral("job"));
        QVERIFY(first > 0);
        b->send(request(QStringLiteral("b1"), QStringLiteral("job"), 5));
        QVERIFY(b->roundTrip());
        clock.advance(9999);
        QVERIFY(probe(*a, QStringLiteral("p1")));
        QVERIFY(b->roundTrip());
        QVERIFY(!b->has(QStringLiteral("LOCK_GRANTED")));
        clock.advance(1);
        const qint64 second = granted(*b, QStringLiteral("b1"), QStringLiteral("job"));
        QVERIFY(second > first);
        // The old owner is not told, and its release fails.
        a->send(release(QStringLiteral("a-rel"), QStringLiteral("job"), double(first)));
        QCOMPARE(released(*a, QStringLiteral("a-rel")), std::optional<bool>(false));

        // A ttl of 5 ms was raised to 1 s.
        a->send(request(QStringLiteral("a2"), QStringLiteral("job"), 400000));
        QVERIFY(a->roundTrip());
        clock.advance(999);
        QVERIFY(probe(*b, QStringLiteral("p2")));
        QVERIFY(a->roundTrip());
        QVERIFY(!a->has(QStringLiteral("LOCK_GRANTED")));
        clock.advance(1);
        const qint64 third = granted(*a, QStringLiteral("a2"), QStringLiteral("job"));
        QVERIFY(third > second);

        // ... and 400 s was cut to 300 s.
        clock.advance(290000);
        b->send(request(QStringLiteral("b2"), QStringLiteral("job")));
        QVERIFY(b->roundTrip());
        clock.advance(9999);
        QVERIFY(probe(*a, QStringLiteral("p3")));
        QVERIFY(b->roundTrip());
        QVERIFY(!b->has(QStringLiteral("LOCK_GRANTED")));
        clock.advance(1);
        QVERIFY(granted(*b, QStringLiteral("b2"), QStringLiteral("job")) > third);
    }

    void queuedRequestsGiveUpAfterThirtySeconds()
    {
        FakeClock clock;
        ServerConfig config = testConfig();
        config.clock = clock.function();
        auto server = startServer(config);
        QVERIFY(server);
        auto a = RawClient::authenticated(server->port(), QStringLiteral("a"));
        auto b = RawClient::authenticated(server->port(), QStringLiteral("b"));
        auto c = RawClient::authenticated(server->port(), QStringLiteral("c"));
        QVERIFY(a && b && c);
        a->send(request(QStringLiteral("a1"), QStringLiteral("job"), 300000));
        const qint64 first = granted(*a, QStringLiteral("a1"), QStringLiteral("job"));
        b->send(request(QStringLiteral("b1"), QStringLiteral("job")));
        QVERIFY(b->roundTrip());
        clock.advance(30001);
        c->send(request(QStringLiteral("c1"), QStringLiteral("job")));
        QVERIFY(c->roundTrip());
        a->send(release(QStringLiteral("a-rel"), QStringLiteral("job"), double(first)));
        QCOMPARE(released(*a, QStringLiteral("a-rel")), std::optional<bool>(true));
        QVERIFY(granted(*c, QStringLiteral("c1"), QStringLiteral("job")) > first);
        QVERIFY(b->roundTrip());
        QVERIFY(!b->has(QStringLiteral("LOCK_GRANTED")));
    }

    void disconnectsPassLocksOnAndLeaveQueues()
    {
        auto server = startServer();
        QVERIFY(server);
        auto a = RawClient::authenticated(server->port(), QStringLiteral("a"));
        auto b = RawClient::authenticated(server->port(), QStringLiteral("b"));
        auto c = RawClient::authenticated(server->port(), QStringLiteral("c"));
        QVERIFY(a && b && c);
        a->send(request(QStringLiteral("a1"), QStringLiteral("job"), 300000));
        const qint64 first = granted(*a, QStringLiteral("a1"), QStringLiteral("job"));
        QVERIFY(first > 0);
        b->send(request(QStringLiteral("b1"), QStringLiteral("job")));
        QVERIFY(b->roundTrip());
        c->send(request(QStringLiteral("c1"), QStringLiteral("job")));
        QVERIFY(c->roundTrip());

        b->close();
        QVERIFY(b->waitForDisconnected());
        QTRY_COMPARE_WITH_TIMEOUT(server->connections().size(), 2, 10000);
        a->close();
        QVERIFY(a->waitForDisconnected());
        QVERIFY(granted(*c, QStringLiteral("c1"), QStringLiteral("job")) > first);
    }

    void permissionsOnLockNames()
    {
        ServerConfig config = testConfig();
        config.policy = auth::SecurityPolicy({
            { QStringLiteral("USER"), QStringLiteral("lock:shared.*"),
                auth::SecurityPolicy::Action::Put },
            { QStringLiteral("USER"), QStringLiteral("private"),
                auth::SecurityPolicy::kAllActions },
        });
        auto server = startServer(config);
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
        QVERIFY(client);
        // A map permission on the bare name does not count.
        client->send(request(QStringLiteral("r1"), QStringLiteral("private")));
        verifyError(*client, 403, QStringLiteral("Access Denied for lock private"));
        client->send(release(QStringLiteral("r2"), QStringLiteral("private"), 1));
        verifyError(*client, 403, QStringLiteral("Access Denied for lock private"));
        QVERIFY(client->roundTrip());
        QVERIFY(!client->has(QStringLiteral("LOCK_RELEASED")));
        QVERIFY(!client->has(QStringLiteral("LOCK_GRANTED")));
        client->send(request(QStringLiteral("r3"), QStringLiteral("shared.x")));
        QVERIFY(granted(*client, QStringLiteral("r3"), QStringLiteral("shared.x")) > 0);
    }

    void badInputGetsTheDocumentedError()
    {
        auto server = startServer();
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
        QVERIFY(client);
        const QString invalid = QStringLiteral("Invalid message format");
        client->send(request(QStringLiteral("r"), 5));
        verifyError(*client, 400, invalid);
        client->send(request(7, QStringLiteral("job")));
        verifyError(*client, 400, invalid);
        client->send(request(QStringLiteral("r"), QStringLiteral("job"), QStringLiteral("long")));
        verifyError(*client, 400, invalid);
        client->send(release(QStringLiteral("r"), QStringLiteral("job"), QStringLiteral("x")));
        verifyError(*client, 400, invalid);
        client->send(QCborMap { { kType, QStringLiteral("LOCK_RELEASE") },
            { kPayload, QCborMap { { QStringLiteral("name"), QStringLiteral("job") } } } });
        verifyError(*client, 400, invalid);
        client->send(request(QStringLiteral("r"), QString()));
        verifyError(*client, 400, QStringLiteral("Invalid lock name"));
        QVERIFY(client->roundTrip());
        QVERIFY(!client->has(QStringLiteral("LOCK_GRANTED")));
        // Nothing changed: the lock is free.
        client->send(request(QStringLiteral("ok"), QStringLiteral("job")));
        QVERIFY(granted(*client, QStringLiteral("ok"), QStringLiteral("job")) > 0);
    }

    void tokensOutliveRestarts()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ServerConfig config = testConfig();
        config.storage = QStringLiteral("sqlite:") + dir.filePath(QStringLiteral("locks.db"));
        qint64 before = 0;
        {
            auto server = startServer(config);
            QVERIFY(server);
            auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
            QVERIFY(client);
            client->send(request(QStringLiteral("r1"), QStringLiteral("job")));
            before = granted(*client, QStringLiteral("r1"), QStringLiteral("job"));
            QVERIFY(before > 0);
            client->send(release(QStringLiteral("r2"), QStringLiteral("job"), double(before)));
            QCOMPARE(released(*client, QStringLiteral("r2")), std::optional<bool>(true));
            QVERIFY(stopServer(*server));
        }
        // An hour behind: only the stored token keeps the next one larger.
        FakeClock clock;
        clock.advance(-3600 * 1000);
        config.clock = clock.function();
        auto server = startServer(config);
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
        QVERIFY(client);
        client->send(request(QStringLiteral("r3"), QStringLiteral("job")));
        QCOMPARE(granted(*client, QStringLiteral("r3"), QStringLiteral("job")), before + 1);
    }

    void syncEngineLockHandles()
    {
        auto server = startServer();
        QVERIFY(server);
        client::SyncEngine first(testEngineConfig(server->port(), QStringLiteral("first")));
        client::SyncEngine second(testEngineConfig(server->port(), QStringLiteral("second")));
        first.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "f")));
        second.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "s")));
        client::LockHandle *mine = first.lock(QStringLiteral("printer"));
        QVERIFY(!mine->lock()); // not authenticated yet
        first.start();
        second.start();
        QTRY_COMPARE_WITH_TIMEOUT(first.state(), client::SyncEngine::State::Connected, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(second.state(), client::SyncEngine::State::Connected, 10000);

        QSignalSpy acquired(mine, &client::LockHandle::acquired);
        QVERIFY(mine->lock());
        QVERIFY(acquired.wait(10000));
        QVERIFY(mine->isLocked());

        client::LockHandle *theirs = second.lock(QStringLiteral("printer"));
        QSignalSpy theirsAcquired(theirs, &client::LockHandle::acquired);
        QVERIFY(theirs->lock(5000));
        QVERIFY(theirsAcquired.isEmpty());

        QSignalSpy released(mine, &client::LockHandle::released);
        QVERIFY(mine->unlock());
        QVERIFY(released.wait(10000));
        QCOMPARE(released.first().first().toBool(), true);
        QVERIFY(!mine->isLocked());
        QTRY_COMPARE_WITH_TIMEOUT(theirsAcquired.size(), 1, 10000);
        QVERIFY(theirs->fencingToken() > mine->fencingToken());
    }

    void clusterLocksLiveOnTheOwnerOfTheirName()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(2));
        QString name;
        for (int i = 0; name.isEmpty() && i < 1000; ++i) {
            const QString candidate = QStringLiteral("job-%1").arg(i);
            if (cluster.ownerOf(candidate) == cluster.node(1))
                name = candidate;
        }
        QVERIFY(!name.isEmpty());
        auto onA = RawClient::authenticated(cluster.node(0)->port(), QStringLiteral("a"));
        auto onB = RawClient::authenticated(cluster.node(1)->port(), QStringLiteral("b"));
        auto alsoOnA = RawClient::authenticated(cluster.node(0)->port(), QStringLiteral("c"));
        QVERIFY(onA && onB && alsoOnA);

        // Granted by node-b through node-a.
        onA->send(request(QStringLiteral("a1"), name, 300000));
        const qint64 first = granted(*onA, QStringLiteral("a1"), name);
        QVERIFY(first > 0);
        onB->send(request(QStringLiteral("b1"), name));
        QVERIFY(onB->roundTrip());
        alsoOnA->send(request(QStringLiteral("c1"), name));
        QVERIFY(alsoOnA->roundTrip());
        QVERIFY(!onB->has(QStringLiteral("LOCK_GRANTED")));
        QVERIFY(!alsoOnA->has(QStringLiteral("LOCK_GRANTED")));

        onA->send(release(QStringLiteral("a-rel"), name, double(first)));
        QCOMPARE(released(*onA, QStringLiteral("a-rel")), std::optional<bool>(true));
        const qint64 second = granted(*onB, QStringLiteral("b1"), name);
        QVERIFY(second > first);

        // The holder leaving passes it on to a client of the other node.
        onB->close();
        QVERIFY(onB->waitForDisconnected());
        QVERIFY(granted(*alsoOnA, QStringLiteral("c1"), name) > second);
    }
};

QTEST_GUILESS_MAIN(tst_Locks)
#include "tst_locks.moc"

#include "TestSession.h"
#include "auth/SecurityPolicy.h"
#include "crdt/Hlc.h"
#include "primitives/LockService.h"
#include "protocol/PrimitiveMessages.h"

#include <QCborMap>
#include <QTest>

using namespace wingman;
using namespace wingman::test;
using primitives::LockService;

namespace {

// One member's LockService with the cluster faked: the test says who owns every name and reads
// the frames the service sends.
struct Member {
    struct Sent {
        QString to; // empty: broadcast
        QCborMap frame;
    };

    ScriptedStorage storage;
    qint64 now = 1'700'000'000'000;
    crdt::Hlc hlc { QStringLiteral("node-x"), [this] { return now; } };
    const auth::SecurityPolicy policy;
    LockService locks { storage, hlc, policy, [this] { return now; } };
    QString owner; // of every name; empty: this node
    QStringList members; // what a broadcast reaches
    QList<Sent> sent;

    Member()
    {
        LockService::Cluster cluster;
        cluster.isClustered = [] { return true; };
        cluster.localNodeId = [] { return QStringLiteral("node-x"); };
        cluster.ownerOf = [this](const QString &) { return owner; };
        cluster.send = [this](const QString &to, const QCborMap &frame) {
            sent.append({ to, frame });
            return true;
        };
        cluster.broadcast = [this](const QCborMap &frame) {
            sent.append({ {}, frame });
            return members;
        };
        locks.setCluster(std::move(cluster));
    }

    // The frames of this type sent to `to` (empty: broadcast).
    QList<QCborMap> frames(QLatin1StringView type, const QString &to) const
    {
        QList<QCborMap> found;
        for (const Sent &each : sent) {
            if (each.to == to && each.frame.value(QStringLiteral("type")).toString() == type)
                found.append(each.frame);
        }
        return found;
    }

    void request(const QString &from, qint64 client, const QString &requestId)
    {
        locks.handleFrame(from, LockService::kRequestFrame,
            QCborMap { { QStringLiteral("requestId"), requestId },
                { QStringLiteral("name"), QStringLiteral("job") }, { QStringLiteral("ttl"), 60000 },
                { QStringLiteral("clientId"), client } });
    }

    // LOCK_TOKEN from the old owner: node-a's client 7 holds `job` with token 100.
    void heldElsewhere(qint64 ttl)
    {
        locks.handleFrame(QStringLiteral("node-b"), LockService::kTokenFrame,
            QCborMap { { QStringLiteral("name"), QStringLiteral("job") },
                { QStringLiteral("fencingToken"), 100 },
                { QStringLiteral("node"), QStringLiteral("node-a") },
                { QStringLiteral("clientId"), 7 }, { QStringLiteral("ttl"), ttl } });
    }
};

qint64 tokenOf(const QCborMap &frame)
{
    return frame.value(QStringLiteral("fencingToken")).toInteger();
}

} // namespace

// LockService against test sessions: what each request and release puts on the wire.
class tst_LockService : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void ttlDefaultsAndClamps()
    {
        QCOMPARE(LockService::effectiveTtl(std::nullopt), 10000);
        QCOMPARE(LockService::effectiveTtl(0), 10000);
        QCOMPARE(LockService::effectiveTtl(5), 1000);
        QCOMPARE(LockService::effectiveTtl(-20), 1000);
        QCOMPARE(LockService::effectiveTtl(2500), 2500);
        QCOMPARE(LockService::effectiveTtl(10'000'000), 300000);
    }

    void grantWaitsForTheTokenToBeCommitted()
    {
        ScriptedStorage storage(ScriptedStorage::Mode::Deferred);
        qint64 now = 1'700'000'000'000;
        crdt::Hlc hlc(QStringLiteral("node"), [&now] { return now; });
        const auth::SecurityPolicy policy;
        LockService locks(storage, hlc, policy, [&now] { return now; });
        TestSession session(1);
        session.authenticate();

        locks.handle(session,
            protocol::LockRequestMessage {
                QStringLiteral("r1"), QStringLiteral("job"), std::nullopt });
        QVERIFY(session.typed<protocol::LockGrantedMessage>().isEmpty());
        QCOMPARE(storage.pending(), 1);
        storage.release();
        const auto granted = session.typed<protocol::LockGrantedMessage>();
        QCOMPARE(granted.size(), 1);
        QVERIFY(granted.first());
        QCOMPARE(granted.first()->requestId, QStringLiteral("r1"));
        // The HLC in microseconds: 1.7e15, still exact as a float64.
        QCOMPARE(granted.first()->fencingToken, now * 1000);
        QCOMPARE(locks.lastToken(QStringLiteral("job")), now * 1000);
    }

    void releaseOfAnotherConnectionFailsAndChangesNothing()
    {
        ScriptedStorage storage;
        crdt::Hlc hlc(QStringLiteral("node"));
        const auth::SecurityPolicy policy;
        LockService locks(storage, hlc, policy);
        TestSession owner(1);
        TestSession other(2);
        owner.authenticate();
        other.authenticate();
        locks.handle(owner,
            protocol::LockRequestMessage { QStringLiteral("r1"), QStringLiteral("job"), 60000 });
        const qint64 token = locks.lastToken(QStringLiteral("job"));
        locks.handle(other,
            protocol::LockReleaseMessage { QStringLiteral("x"), QStringLiteral("job"), token });
        const auto refused = other.typed<protocol::LockReleasedMessage>();
        QCOMPARE(refused.size(), 1);
        QVERIFY(refused.first() && !refused.first()->success);

        // Still the owner's: asking again keeps the token.
        locks.handle(owner,
            protocol::LockRequestMessage { QStringLiteral("r2"), QStringLiteral("job"), 60000 });
        const auto grants = owner.typed<protocol::LockGrantedMessage>();
        QCOMPARE(grants.size(), 2);
        QCOMPARE(grants.last()->fencingToken, token);
        QCOMPARE(grants.last()->requestId, QStringLiteral("r2"));
    }

    void refusalsAreErrorsNeverReleased()
    {
        ScriptedStorage storage;
        crdt::Hlc hlc(QStringLiteral("node"));
        const auth::SecurityPolicy policy({ { QStringLiteral("USER"), QStringLiteral("lock:open"),
            auth::SecurityPolicy::Action::Put } });
        LockService locks(storage, hlc, policy);
        TestSession session(1);
        session.authenticate();
        locks.handle(session,
            protocol::LockReleaseMessage { QStringLiteral("x"), QStringLiteral("closed"), 1 });
        QVERIFY(session.typed<protocol::LockReleasedMessage>().isEmpty());
        QCOMPARE(session.errors().size(), 1);
        QCOMPARE(session.errors().first().code, 403);
        QCOMPARE(session.errors().first().message, QStringLiteral("Access Denied for lock closed"));
        QCOMPARE(storage.writes().size(), 0);
    }

    // docs/cluster.md §7: the new owner honours the lease it takes over, then grants above it.
    void newOwnerHonoursTheRecordedLease()
    {
        Member member;
        member.owner = QStringLiteral("node-b");
        member.heldElsewhere(5000);
        QCOMPARE(member.locks.lastToken(QStringLiteral("job")), 100);

        member.owner.clear();
        member.request(QStringLiteral("node-c"), 9, QStringLiteral("c1"));
        QVERIFY(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).isEmpty());
        member.now += 5001;
        QTRY_COMPARE_WITH_TIMEOUT(
            member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).size(), 1, 10000);
        QVERIFY(tokenOf(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).first())
            > 100);
        // The members learn the new holder.
        const QList<QCborMap> states = member.frames(LockService::kTokenFrame, {});
        QVERIFY(!states.isEmpty());
        QCOMPARE(states.last().value(QStringLiteral("node")).toString(), QStringLiteral("node-c"));
        QCOMPARE(states.last().value(QStringLiteral("clientId")).toInteger(), 9);
    }

    void aReleasedLeaseIsNotHonoured()
    {
        Member member;
        member.owner = QStringLiteral("node-b");
        member.heldElsewhere(60000);
        member.locks.handleFrame(QStringLiteral("node-b"), LockService::kTokenFrame,
            QCborMap { { QStringLiteral("name"), QStringLiteral("job") },
                { QStringLiteral("fencingToken"), 100 }, { QStringLiteral("released"), true } });
        // A late copy of the grant (from a member that missed the release) changes nothing.
        member.heldElsewhere(60000);
        member.owner.clear();
        member.request(QStringLiteral("node-c"), 9, QStringLiteral("c1"));
        const QList<QCborMap> grants
            = member.frames(LockService::kGrantFrame, QStringLiteral("node-c"));
        QCOMPARE(grants.size(), 1);
        QVERIFY(tokenOf(grants.first()) > 100);
    }

    void holdersOfADownMemberLoseTheirLocks()
    {
        Member member;
        member.heldElsewhere(60000);
        member.request(QStringLiteral("node-c"), 9, QStringLiteral("c1"));
        member.request(QStringLiteral("node-a"), 8, QStringLiteral("a8"));
        QVERIFY(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).isEmpty());
        member.locks.memberDown(QStringLiteral("node-a"));
        QCOMPARE(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).size(), 1);
        // node-a's waiting client went with it.
        QVERIFY(member.frames(LockService::kGrantFrame, QStringLiteral("node-a")).isEmpty());
    }

    // docs/cluster.md §7: LOCK_GRANTED waits until every member the record went to confirmed it;
    // one that goes away is not waited for.
    void grantWaitsForTheMembersToConfirmTheRecord()
    {
        Member member;
        member.members = { QStringLiteral("node-b"), QStringLiteral("node-c") };
        TestSession session(3);
        session.authenticate();
        member.locks.handle(session,
            protocol::LockRequestMessage { QStringLiteral("r1"), QStringLiteral("job"), 60000 });
        const QList<QCborMap> states = member.frames(LockService::kTokenFrame, {});
        QCOMPARE(states.size(), 1);
        const QCborValue ack = states.first().value(QStringLiteral("ack"));
        QVERIFY(ack.isInteger());
        QVERIFY(session.typed<protocol::LockGrantedMessage>().isEmpty());

        // A confirmation of another grant changes nothing.
        member.locks.handleFrame(QStringLiteral("node-b"), LockService::kTokenAckFrame,
            QCborMap { { QStringLiteral("ack"), ack.toInteger() + 1 } });
        member.locks.handleFrame(QStringLiteral("node-b"), LockService::kTokenAckFrame,
            QCborMap { { QStringLiteral("ack"), ack } });
        QVERIFY(session.typed<protocol::LockGrantedMessage>().isEmpty());
        member.locks.linkDown(QStringLiteral("node-c"));
        QCOMPARE(session.typed<protocol::LockGrantedMessage>().size(), 1);

        // A member confirms what it is sent.
        member.locks.handleFrame(QStringLiteral("node-b"), LockService::kTokenFrame,
            QCborMap { { QStringLiteral("name"), QStringLiteral("other") },
                { QStringLiteral("fencingToken"), 5 }, { QStringLiteral("released"), true },
                { QStringLiteral("ack"), 42 } });
        const QList<QCborMap> acks
            = member.frames(LockService::kTokenAckFrame, QStringLiteral("node-b"));
        QCOMPARE(acks.size(), 1);
        QCOMPARE(acks.first().value(QStringLiteral("ack")).toInteger(), 42);
    }

    void pendingRequestsFollowTheTableAndAreGrantedOnce()
    {
        Member member;
        member.owner = QStringLiteral("node-b");
        TestSession session(3);
        session.authenticate();
        member.locks.handle(session,
            protocol::LockRequestMessage { QStringLiteral("r1"), QStringLiteral("job"), 60000 });
        QCOMPARE(member.frames(LockService::kRequestFrame, QStringLiteral("node-b")).size(), 1);

        member.owner = QStringLiteral("node-c");
        member.locks.tableChanged();
        const QList<QCborMap> resent
            = member.frames(LockService::kRequestFrame, QStringLiteral("node-c"));
        QCOMPARE(resent.size(), 1);
        QCOMPARE(
            resent.first().value(QStringLiteral("requestId")).toString(), QStringLiteral("r1"));

        // Both owners answer; the client hears one grant.
        const auto grant = [&](const QString &from, qint64 token) {
            member.locks.handleFrame(from, LockService::kGrantFrame,
                QCborMap { { QStringLiteral("requestId"), QStringLiteral("r1") },
                    { QStringLiteral("name"), QStringLiteral("job") },
                    { QStringLiteral("fencingToken"), token }, { QStringLiteral("clientId"), 3 } });
        };
        grant(QStringLiteral("node-c"), 200);
        grant(QStringLiteral("node-b"), 150);
        const auto granted = session.typed<protocol::LockGrantedMessage>();
        QCOMPARE(granted.size(), 1);
        QCOMPARE(granted.first()->fencingToken, 200);

        // Granted: a later table change re-sends nothing.
        member.locks.tableChanged();
        QCOMPARE(member.frames(LockService::kRequestFrame, QStringLiteral("node-c")).size(), 1);
    }

    // A request that reaches a node before its table makes it the owner waits for that table.
    void onlyTheOwnerGrants()
    {
        Member member;
        member.owner = QStringLiteral("node-b");
        member.request(QStringLiteral("node-c"), 9, QStringLiteral("c1"));
        QVERIFY(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).isEmpty());
        member.owner.clear();
        member.locks.tableChanged();
        QCOMPARE(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).size(), 1);
    }

    void aRequestReSentToTheSameOwnerIsQueuedOnce()
    {
        Member member;
        member.heldElsewhere(60000);
        member.request(QStringLiteral("node-c"), 9, QStringLiteral("c1"));
        member.request(QStringLiteral("node-c"), 9, QStringLiteral("c1"));
        member.locks.handleFrame(QStringLiteral("node-a"), LockService::kClientGoneFrame,
            QCborMap { { QStringLiteral("clientId"), 7 } });
        QCOMPARE(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).size(), 1);
        // Released by node-c's client: nobody else was queued.
        const qint64 token
            = tokenOf(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).first());
        member.locks.handleFrame(QStringLiteral("node-c"), LockService::kReleaseFrame,
            QCborMap { { QStringLiteral("requestId"), QStringLiteral("rel") },
                { QStringLiteral("name"), QStringLiteral("job") },
                { QStringLiteral("fencingToken"), token }, { QStringLiteral("clientId"), 9 } });
        QCOMPARE(member.frames(LockService::kGrantFrame, QStringLiteral("node-c")).size(), 1);
        // The release reached the members.
        QVERIFY(member.frames(LockService::kTokenFrame, {})
                    .last()
                    .value(QStringLiteral("released"))
                    .toBool());
    }
};

QTEST_GUILESS_MAIN(tst_LockService)
#include "tst_lockservice.moc"

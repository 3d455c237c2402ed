#include "TestSession.h"
#include "auth/SecurityPolicy.h"
#include "crdt/Hlc.h"
#include "primitives/LockService.h"
#include "protocol/PrimitiveMessages.h"

#include <QTest>

using namespace wingman;
using namespace wingman::test;
using primitives::LockService;

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
};

QTEST_GUILESS_MAIN(tst_LockService)
#include "tst_lockservice.moc"

#include "TestSession.h"

#include "auth/SecurityPolicy.h"
#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "ops/Committer.h"
#include "ops/InterceptorChain.h"
#include "ops/OpRouter.h"
#include "ops/OperationHandler.h"
#include "ops/interceptors/RateLimiter.h"
#include "protocol/Messages.h"

#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using test::ScriptedStorage;
using test::TestSession;
using Action = auth::SecurityPolicy::Action;
using WriteKind = storage::StorageWrite::Kind;

Q_DECLARE_METATYPE(wingman::protocol::ClientOp)
Q_DECLARE_METATYPE(wingman::protocol::WriteConcern)
Q_DECLARE_METATYPE(wingman::protocol::ServerEventType)
Q_DECLARE_METATYPE(wingman::storage::StorageWrite::Kind)

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

crdt::Timestamp stamp(qint64 millis = kNow, qint32 counter = 0)
{
    return { millis, counter, u"client-a"_s };
}

ClientOp put(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis = kNow)
{
    ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = OpType::Put;
    op.record = crdt::LwwRecord { value, stamp(millis), std::nullopt };
    return op;
}

ClientOp remove(const QString &id, const QString &map, const QString &key)
{
    ClientOp op = put(id, map, key, QCborValue(QCborValue::Null), kNow + 1);
    op.opType = OpType::Remove;
    return op;
}

crdt::OrRecord orRecord(const QCborValue &value, qint64 millis = kNow)
{
    const crdt::Timestamp ts = stamp(millis);
    return crdt::OrRecord { value, ts, ts.toString(), std::nullopt };
}

ClientOp orAdd(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis = kNow)
{
    ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = OpType::OrAdd;
    op.orRecord = orRecord(value, millis);
    return op;
}

ClientOp orRemove(const QString &id, const QString &map, const QString &key, const QString &tag)
{
    ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = OpType::OrRemove;
    op.orTag = tag;
    return op;
}

DecodedOps batch(QList<ClientOp> ops, std::optional<WriteConcern> concern = std::nullopt)
{
    DecodedOps decoded;
    decoded.ops = std::move(ops);
    decoded.writeConcern = concern;
    return decoded;
}

// Runs a function per hook, so each test states its interceptor in place.
class ScriptedInterceptor : public ops::Interceptor
{
public:
    std::function<ops::OpVerdict(ClientOp &)> before;
    QList<ClientOp> after;

    ops::OpVerdict onBeforeOp(ClientOp &op, const ops::ConnectionContext &) override
    {
        return before ? before(op) : ops::OpVerdict::proceed();
    }
    void onAfterOp(const ClientOp &op, const ops::ConnectionContext &) override
    {
        after.append(op);
    }
};

// USER may write public.* and read-only readonly.*; puts but never removes on noremove.*.
auth::SecurityPolicy testPolicy()
{
    using Rule = auth::SecurityPolicy::Rule;
    return auth::SecurityPolicy({
        Rule { u"USER"_s, u"todos"_s, auth::SecurityPolicy::kAllActions },
        Rule { u"USER"_s, u"tags"_s, auth::SecurityPolicy::kAllActions },
        Rule { u"USER"_s, u"readonly"_s, Action::Read },
        Rule { u"USER"_s, u"noremove"_s, Action::Read | Action::Put },
    });
}

struct Node {
    qint64 clock = kNow;
    maps::MapRegistry maps { u"server-1"_s, [this] { return clock; } };
    live::QueryRegistry queries;
    ScriptedStorage storage;
    ops::Committer committer { storage, queries, maps.hlc() };
    auth::SecurityPolicy policy = testPolicy();
    ops::OpRouter router { u"server-1"_s };
    ops::OperationHandler handler { maps, policy, committer, router };
    TestSession client { 1 };
    TestSession listener { 2 };

    Node()
    {
        client.authenticate();
        listener.authenticate(u"bob"_s);
        queries.addMapListener(&listener, u"todos"_s);
        queries.addMapListener(&listener, u"tags"_s);
    }

    std::shared_ptr<ScriptedInterceptor> intercept()
    {
        auto interceptor = std::make_shared<ScriptedInterceptor>();
        auto chain = std::make_shared<ops::InterceptorChain>();
        chain->append(interceptor);
        handler.setInterceptors(chain);
        return interceptor;
    }

    QList<WriteKind> writeKinds() const
    {
        QList<WriteKind> kinds;
        for (const auto &writes : storage.writes()) {
            for (const storage::StorageWrite &write : writes)
                kinds.append(write.kind);
        }
        return kinds;
    }
    QStringList storedKeys() const
    {
        QStringList keys;
        for (const auto &writes : storage.writes()) {
            for (const storage::StorageWrite &write : writes)
                keys.append(write.mapName + u'/' + write.key);
        }
        return keys;
    }
};

// The pair of OP_ACKs of the one batch acknowledged, as one message.
std::optional<OpAckMessage> onlyAck(const TestSession &session)
{
    const auto batches = session.ackedBatches();
    if (batches.size() != 1 || session.typed<OpAckMessage>().size() != 2)
        return std::nullopt;
    return batches.first();
}

} // namespace

class TestOperationHandler : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { m_node = std::make_unique<Node>(); }
    void cleanup() { m_node.reset(); }

    void appliesAndAcks_data();
    void appliesAndAcks();
    void achievedLevel_data();
    void achievedLevel();
    void rejectsOneOpAndAppliesTheRest_data();
    void rejectsOneOpAndAppliesTheRest();
    void interceptorDropAcksWithoutStoring();
    void interceptorReject_data();
    void interceptorReject();
    void interceptorRewriteIsAppliedAndAuthorizedAgain_data();
    void interceptorRewriteIsAppliedAndAuthorizedAgain();
    void afterOpRunsAfterTheCommit();
    void ackPairAcrossADigitBoundary();
    void ackPairOfARefusedLastOp();
    void emptyBatchGetsNoAck();
    void opsWithoutIdsAreAppliedWithoutAck();
    void acksLeaveInBatchOrder();
    void storageFailureSendsErrorAndNoAck();
    void sessionGoneBeforeCommit();
    void pushDiffAppliesTombstonesAndRecords();
    void pushDiffForbiddenSendsOneError();
    void pushDiffToLwwMapIsAConflict();
    void pushDiffConsumesRateLimitTokens();

private:
    std::unique_ptr<Node> m_node;
};

void TestOperationHandler::appliesAndAcks_data()
{
    QTest::addColumn<ClientOp>("op");
    QTest::addColumn<WriteKind>("kind");
    QTest::addColumn<ServerEventType>("event");

    QTest::newRow("PUT") << put(u"7"_s, u"todos"_s, u"k"_s, u"milk"_s) << WriteKind::LwwPut
                         << ServerEventType::Put;
    QTest::newRow("REMOVE") << remove(u"7"_s, u"todos"_s, u"seeded"_s) << WriteKind::LwwPut
                            << ServerEventType::Remove;
    QTest::newRow("OR_ADD") << orAdd(u"7"_s, u"tags"_s, u"k"_s, u"red"_s) << WriteKind::OrPut
                            << ServerEventType::OrAdd;
    QTest::newRow("OR_REMOVE") << orRemove(
        u"7"_s, u"tags"_s, u"seeded"_s, orRecord(u"blue"_s, kNow - 10).tag)
                               << WriteKind::OrTombstone << ServerEventType::OrRemove;
}

void TestOperationHandler::appliesAndAcks()
{
    QFETCH(ClientOp, op);
    QFETCH(WriteKind, kind);
    QFETCH(ServerEventType, event);
    Node &n = *m_node;
    n.maps.lwwMap(u"todos"_s)->merge(u"seeded"_s, { u"old"_s, stamp(kNow - 10), std::nullopt });
    n.maps.orMap(u"tags"_s)->apply(u"seeded"_s, orRecord(u"blue"_s, kNow - 10));

    n.handler.handle(n.client, batch({ op }));

    QCOMPARE(n.client.types(), (QStringList { u"OP_ACK"_s, u"OP_ACK"_s }));
    QCOMPARE(n.client.typed<OpAckMessage>().first()->results, QList<OpResult>());
    const auto ack = onlyAck(n.client);
    QVERIFY(ack);
    QCOMPARE(ack->lastId, u"7"_s);
    QCOMPARE(ack->achievedLevel, WriteConcern::Applied);
    QVERIFY(ack->results);
    QCOMPARE(ack->results->size(), 1);
    QCOMPARE(ack->results->first().opId, u"7"_s);
    QVERIFY(ack->results->first().success);
    QVERIFY(!ack->results->first().error);
    QCOMPARE(n.writeKinds(), QList<WriteKind> { kind });
    QCOMPARE(n.handler.appliedOps(), quint64(1));
    QCOMPARE(n.handler.acksSent(), quint64(1));

    const auto events = n.listener.typed<ServerEventMessage>();
    QCOMPARE(events.size(), 1);
    QVERIFY(events.first());
    QCOMPARE(events.first()->event.eventType, event);
    QCOMPARE(events.first()->event.key, op.key);

    switch (kind) {
    case WriteKind::LwwPut: {
        const auto value = n.maps.lwwMap(u"todos"_s)->get(op.key);
        if (event == ServerEventType::Remove)
            QVERIFY(!value);
        else
            QCOMPARE(value, QCborValue(u"milk"_s));
        break;
    }
    case WriteKind::OrPut:
        QCOMPARE(n.maps.orMap(u"tags"_s)->get(op.key), QList<QCborValue> { u"red"_s });
        break;
    default:
        QVERIFY(n.maps.orMap(u"tags"_s)->isTombstoned(*op.orTag));
        QVERIFY(n.maps.orMap(u"tags"_s)->get(op.key).isEmpty());
    }
}

void TestOperationHandler::achievedLevel_data()
{
    QTest::addColumn<int>("concern"); // -1: none asked
    QTest::addColumn<bool>("durable");
    QTest::addColumn<WriteConcern>("level");
    QTest::addColumn<bool>("beforeCommit");

    QTest::newRow("default, memory storage") << -1 << false << WriteConcern::Applied << false;
    QTest::newRow("default, durable storage") << -1 << true << WriteConcern::Persisted << false;
    QTest::newRow("FIRE_AND_FORGET")
        << int(WriteConcern::FireAndForget) << true << WriteConcern::Memory << true;
    QTest::newRow("MEMORY") << int(WriteConcern::Memory) << true << WriteConcern::Memory << true;
    QTest::newRow("APPLIED, durable")
        << int(WriteConcern::Applied) << true << WriteConcern::Persisted << false;
    QTest::newRow("PERSISTED, memory storage")
        << int(WriteConcern::Persisted) << false << WriteConcern::Applied << false;
}

void TestOperationHandler::achievedLevel()
{
    QFETCH(int, concern);
    QFETCH(bool, durable);
    QFETCH(WriteConcern, level);
    QFETCH(bool, beforeCommit);
    Node &n = *m_node;
    n.storage.setDurable(durable);
    n.storage.setMode(ScriptedStorage::Mode::Deferred);

    n.handler.handle(n.client,
        batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1), put(u"2"_s, u"todos"_s, u"b"_s, 2) },
            concern < 0 ? std::nullopt : std::optional<WriteConcern>(WriteConcern(concern))));

    QCOMPARE(n.storage.pending(), 1);
    QCOMPARE(n.client.typed<OpAckMessage>().size(), beforeCommit ? 2 : 0);
    n.storage.release();
    const auto ack = onlyAck(n.client);
    QVERIFY(ack);
    QCOMPARE(ack->lastId, u"2"_s);
    QCOMPARE(ack->achievedLevel, level);
    QVERIFY(ack->envelopeTimestamp);
    QCOMPARE(ack->results->size(), 2);
    for (const OpResult &result : *ack->results)
        QCOMPARE(result.achievedLevel, level);
}

void TestOperationHandler::rejectsOneOpAndAppliesTheRest_data()
{
    QTest::addColumn<ClientOp>("bad");
    QTest::addColumn<bool>("invalid"); // marked malformed by the decoder
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("reason");

    QTest::newRow("PUT forbidden") << put(u"2"_s, u"readonly"_s, u"x"_s, 1) << false << 403
                                   << u"Access denied: PUT on readonly"_s;
    QTest::newRow("REMOVE forbidden") << remove(u"2"_s, u"noremove"_s, u"x"_s) << false << 403
                                      << u"Access denied: REMOVE on noremove"_s;
    QTest::newRow("OR_REMOVE forbidden") << orRemove(u"2"_s, u"noremove"_s, u"x"_s, u"t"_s) << false
                                         << 403 << u"Access denied: REMOVE on noremove"_s;
    QTest::newRow("LWW op on an OR map")
        << put(u"2"_s, u"tags"_s, u"x"_s, 1) << false << 409 << u"Map tags is an OR map"_s;
    QTest::newRow("OR op on an LWW map")
        << orAdd(u"2"_s, u"todos"_s, u"x"_s, 1) << false << 409 << u"Map todos is an LWW map"_s;
    ClientOp noKey = put(u"2"_s, u"todos"_s, QString(), 1);
    QTest::newRow("no key") << noKey << false << 400
                            << u"Invalid op: mapName and key are required"_s;
    ClientOp noRecord = put(u"2"_s, u"todos"_s, u"x"_s, 1);
    noRecord.record.reset();
    QTest::newRow("PUT without record")
        << noRecord << false << 400 << u"Invalid op: record is required"_s;
    ClientOp malformed;
    malformed.id = u"2"_s;
    QTest::newRow("malformed") << malformed << true << 400 << u"payload.ops.1.key: bad"_s;
    QTest::newRow("clock drift")
        << put(u"2"_s, u"todos"_s, u"x"_s, 1, kNow + crdt::Hlc::kDefaultMaxDriftMs + 1) << false
        << 400
        << u"Clock drift: timestamp %1 is more than 60000 ms ahead of the server clock"_s.arg(
               stamp(kNow + crdt::Hlc::kDefaultMaxDriftMs + 1).toString());
}

void TestOperationHandler::rejectsOneOpAndAppliesTheRest()
{
    QFETCH(ClientOp, bad);
    QFETCH(bool, invalid);
    QFETCH(int, code);
    QFETCH(QString, reason);
    Node &n = *m_node;
    n.maps.orMap(u"tags"_s);
    QSignalSpy rejectedSignal(&n.handler, &ops::OperationHandler::opRejected);

    DecodedOps ops
        = batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1), bad, put(u"3"_s, u"todos"_s, u"c"_s, 3) });
    if (invalid)
        ops.invalid = QStringList { QString(), reason, QString() };
    n.handler.handle(n.client, ops);

    QCOMPARE(n.client.types(), (QStringList { u"OP_REJECTED"_s, u"OP_ACK"_s, u"OP_ACK"_s }));
    const auto rejected = n.client.typed<OpRejectedMessage>().first();
    QVERIFY(rejected);
    QCOMPARE(rejected->opId, u"2"_s);
    QCOMPARE(rejected->code, code);
    QCOMPARE(rejected->reason, reason);
    QCOMPARE(rejectedSignal.size(), 1);
    QCOMPARE(rejectedSignal.first().at(0).toULongLong(), quint64(1));
    QCOMPARE(rejectedSignal.first().at(2).toInt(), code);

    const auto ack = onlyAck(n.client);
    QVERIFY(ack);
    QCOMPARE(ack->lastId, u"3"_s);
    QCOMPARE(ack->results->size(), 3);
    QVERIFY(ack->results->at(0).success);
    QVERIFY(!ack->results->at(1).success);
    QCOMPARE(ack->results->at(1).error, reason);
    QVERIFY(ack->results->at(2).success);
    QCOMPARE(n.storedKeys(), (QStringList { u"todos/a"_s, u"todos/c"_s }));
    QCOMPARE(n.handler.appliedOps(), quint64(2));
    QCOMPARE(n.handler.rejectedOps(), quint64(1));
    QVERIFY(n.maps.findLww(u"readonly"_s) == nullptr
        || !n.maps.findLww(u"readonly"_s)->contains(u"x"_s));
}

void TestOperationHandler::interceptorDropAcksWithoutStoring()
{
    Node &n = *m_node;
    auto interceptor = n.intercept();
    interceptor->before = [](ClientOp &op) {
        return op.key == u"spam"_s ? ops::OpVerdict::drop() : ops::OpVerdict::proceed();
    };

    n.handler.handle(n.client,
        batch({ put(u"1"_s, u"todos"_s, u"spam"_s, 1), put(u"2"_s, u"todos"_s, u"ham"_s, 2) }));

    QCOMPARE(n.client.types(), (QStringList { u"OP_ACK"_s, u"OP_ACK"_s }));
    const auto ack = onlyAck(n.client);
    QVERIFY(ack);
    QCOMPARE(ack->results->size(), 2);
    QVERIFY(ack->results->at(0).success);
    QVERIFY(ack->results->at(1).success);
    QCOMPARE(n.storedKeys(), QStringList { u"todos/ham"_s });
    QVERIFY(!n.maps.lwwMap(u"todos"_s)->contains(u"spam"_s));
    QCOMPARE(n.handler.droppedOps(), quint64(1));
    // Only what was applied reaches onAfterOp.
    QCOMPARE(interceptor->after.size(), 1);
    QCOMPARE(interceptor->after.first().key, u"ham"_s);
}

void TestOperationHandler::interceptorReject_data()
{
    QTest::addColumn<int>("verdictCode");
    QTest::addColumn<int>("code");

    QTest::newRow("with a code") << 418 << 418;
    QTest::newRow("without a code") << 0 << 400;
}

void TestOperationHandler::interceptorReject()
{
    QFETCH(int, verdictCode);
    QFETCH(int, code);
    Node &n = *m_node;
    auto interceptor = n.intercept();
    interceptor->before = [verdictCode](ClientOp &op) {
        return op.key == u"bad"_s ? ops::OpVerdict::reject(verdictCode, u"no bad keys"_s)
                                  : ops::OpVerdict::proceed();
    };

    n.handler.handle(n.client,
        batch({ put(u"1"_s, u"todos"_s, u"bad"_s, 1), put(u"2"_s, u"todos"_s, u"good"_s, 2) }));

    const auto rejected = n.client.typed<OpRejectedMessage>();
    QCOMPARE(rejected.size(), 1);
    QCOMPARE(rejected.first()->opId, u"1"_s);
    QCOMPARE(rejected.first()->code, code);
    QCOMPARE(rejected.first()->reason, u"no bad keys"_s);
    QCOMPARE(n.storedKeys(), QStringList { u"todos/good"_s });
    QCOMPARE(interceptor->after.size(), 1);
}

void TestOperationHandler::interceptorRewriteIsAppliedAndAuthorizedAgain_data()
{
    QTest::addColumn<QString>("map");
    QTest::addColumn<QString>("key");
    QTest::addColumn<int>("code"); // 0: applied
    QTest::addColumn<QString>("stored");

    QTest::newRow("rekeyed") << u"todos"_s << u"rewritten"_s << 0 << u"todos/rewritten"_s;
    QTest::newRow("onto a forbidden map") << u"readonly"_s << u"k"_s << 403 << QString();
    QTest::newRow("key cleared") << u"todos"_s << QString() << 400 << QString();
}

void TestOperationHandler::interceptorRewriteIsAppliedAndAuthorizedAgain()
{
    QFETCH(QString, map);
    QFETCH(QString, key);
    QFETCH(int, code);
    QFETCH(QString, stored);
    Node &n = *m_node;
    auto interceptor = n.intercept();
    interceptor->before = [map, key](ClientOp &op) {
        op.mapName = map;
        op.key = key;
        return ops::OpVerdict::proceed();
    };

    n.handler.handle(n.client, batch({ put(u"1"_s, u"todos"_s, u"original"_s, 1) }));

    QVERIFY(!n.maps.lwwMap(u"todos"_s)->contains(u"original"_s));
    const auto rejected = n.client.typed<OpRejectedMessage>();
    if (code == 0) {
        QCOMPARE(rejected.size(), 0);
        QCOMPARE(n.storedKeys(), QStringList { stored });
        QCOMPARE(n.maps.lwwMap(u"todos"_s)->get(key), QCborValue(1));
        QCOMPARE(interceptor->after.size(), 1);
        QCOMPARE(interceptor->after.first().key, key);
    } else {
        QCOMPARE(rejected.size(), 1);
        QCOMPARE(rejected.first()->code, code);
        QVERIFY(n.storedKeys().isEmpty());
        QVERIFY(interceptor->after.isEmpty());
    }
}

void TestOperationHandler::afterOpRunsAfterTheCommit()
{
    Node &n = *m_node;
    auto interceptor = n.intercept();
    n.storage.setMode(ScriptedStorage::Mode::Deferred);

    n.handler.handle(n.client, batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1) }));
    QVERIFY(interceptor->after.isEmpty());
    QVERIFY(n.client.typed<OpAckMessage>().isEmpty());
    n.storage.release();
    QCOMPARE(interceptor->after.size(), 1);
    QCOMPARE(n.client.typed<OpAckMessage>().size(), 2);
}

void TestOperationHandler::ackPairAcrossADigitBoundary()
{
    Node &n = *m_node;
    n.handler.handle(n.client,
        batch({ put(u"8"_s, u"todos"_s, u"a"_s, 1), put(u"9"_s, u"todos"_s, u"b"_s, 2),
            put(u"10"_s, u"todos"_s, u"c"_s, 3) }));

    const auto acks = n.client.typed<OpAckMessage>();
    QCOMPARE(acks.size(), 2);
    // A is the greatest numeric id, though "9" sorts after "10" as a string.
    QCOMPARE(acks.at(0)->lastId, u"10"_s);
    QCOMPARE(acks.at(1)->lastId, u"10"_s);
    QStringList first;
    for (const OpResult &result : *acks.at(0)->results)
        first.append(result.opId);
    QCOMPARE(first, (QStringList { u"8"_s, u"9"_s }));
    QCOMPARE(acks.at(1)->results->size(), 1);
    QCOMPARE(acks.at(1)->results->first().opId, u"10"_s);
    QCOMPARE(n.handler.acksSent(), quint64(1));
}

void TestOperationHandler::ackPairOfARefusedLastOp()
{
    Node &n = *m_node;
    n.handler.handle(n.client,
        batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1), put(u"2"_s, u"readonly"_s, u"x"_s, 2) }));

    const auto ack = onlyAck(n.client);
    QVERIFY(ack);
    QCOMPARE(ack->lastId, u"2"_s);
    QVERIFY(ack->results->at(0).success);
    const OpResult &refused = ack->results->at(1);
    QCOMPARE(refused.opId, u"2"_s);
    QVERIFY(!refused.success);
    QVERIFY(refused.error && refused.error->contains(u"Access denied"_s));
}

void TestOperationHandler::emptyBatchGetsNoAck()
{
    Node &n = *m_node;
    n.handler.handle(n.client, batch({}));
    QVERIFY(n.client.typed<OpAckMessage>().isEmpty());
    QCOMPARE(n.handler.acksSent(), quint64(0));
}

void TestOperationHandler::opsWithoutIdsAreAppliedWithoutAck()
{
    // Nothing names the batch to the client: there is no A to acknowledge.
    Node &n = *m_node;
    ClientOp op = put(u"1"_s, u"todos"_s, u"a"_s, 1);
    op.id.reset();
    n.handler.handle(n.client, batch({ op }));
    QVERIFY(n.client.typed<OpAckMessage>().isEmpty());
    QCOMPARE(n.storedKeys(), QStringList { u"todos/a"_s });
}

void TestOperationHandler::acksLeaveInBatchOrder()
{
    Node &n = *m_node;
    n.storage.setMode(ScriptedStorage::Mode::Deferred);
    n.handler.handle(n.client, batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1) }));
    // An early ack still waits for the batch before it: lastId covers every earlier op.
    n.handler.handle(n.client, batch({ put(u"2"_s, u"todos"_s, u"b"_s, 2) }, WriteConcern::Memory));
    QVERIFY(n.client.typed<OpAckMessage>().isEmpty());

    n.storage.release();
    QStringList lastIds;
    for (const auto &ack : n.client.typed<OpAckMessage>())
        lastIds.append(ack->lastId);
    QCOMPARE(lastIds, (QStringList { u"1"_s, u"1"_s, u"2"_s, u"2"_s }));
}

void TestOperationHandler::storageFailureSendsErrorAndNoAck()
{
    Node &n = *m_node;
    n.storage.setMode(ScriptedStorage::Mode::Fail);

    n.handler.handle(n.client, batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1) }));

    QCOMPARE(n.client.types(), QStringList { u"ERROR"_s });
    const auto errors = n.client.errors();
    QCOMPARE(errors.first().code, 500);
    QCOMPARE(errors.first().message, u"Storage failure; ops not acknowledged"_s);
    QVERIFY(n.client.sent().first().urgent);
    QCOMPARE(n.handler.acksSent(), quint64(0));
    QVERIFY(n.listener.sent().isEmpty());
}

void TestOperationHandler::sessionGoneBeforeCommit()
{
    Node &n = *m_node;
    n.storage.setMode(ScriptedStorage::Mode::Deferred);
    auto gone = std::make_unique<TestSession>(9);
    gone->authenticate();

    n.handler.handle(*gone, batch({ put(u"1"_s, u"todos"_s, u"a"_s, 1) }));
    gone.reset();
    n.storage.release();

    QCOMPARE(n.handler.acksSent(), quint64(0));
    // The others still hear of the committed write.
    QCOMPARE(n.listener.typed<ServerEventMessage>().size(), 1);
}

void TestOperationHandler::pushDiffAppliesTombstonesAndRecords()
{
    Node &n = *m_node;
    const crdt::OrRecord held = orRecord(u"old"_s, kNow - 100);
    n.maps.orMap(u"tags"_s)->apply(u"k"_s, held);

    OrMapPushDiffMessage push;
    push.mapName = u"tags"_s;
    push.entries = { OrMapEntry { u"k"_s, { orRecord(u"new"_s, kNow - 50) }, { held.tag } } };
    n.handler.handle(n.client, push);

    // No ack: ORMAP_PUSH_DIFF has none.
    QVERIFY(n.client.sent().isEmpty());
    QCOMPARE(n.writeKinds(), (QList<WriteKind> { WriteKind::OrTombstone, WriteKind::OrPut }));
    QCOMPARE(n.maps.orMap(u"tags"_s)->get(u"k"_s), QList<QCborValue> { u"new"_s });
    const auto events = n.listener.typed<ServerBatchEventMessage>();
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first()->events.size(), 2);
    QCOMPARE(events.first()->events.at(0).eventType, ServerEventType::OrRemove);
    QCOMPARE(events.first()->events.at(1).eventType, ServerEventType::OrAdd);
}

void TestOperationHandler::pushDiffForbiddenSendsOneError()
{
    Node &n = *m_node;
    OrMapPushDiffMessage push;
    push.mapName = u"readonly"_s;
    push.entries
        = { OrMapEntry { u"a"_s, { orRecord(1, kNow - 2), orRecord(2, kNow - 1) }, { u"t"_s } },
              OrMapEntry { u"b"_s, { orRecord(3, kNow - 3) }, {} } };
    n.handler.handle(n.client, push);

    QCOMPARE(n.client.types(), QStringList { u"ERROR"_s });
    QCOMPARE(n.client.errors().first().code, 403);
    QCOMPARE(n.client.errors().first().message, u"Access denied: REMOVE on readonly"_s);
    QVERIFY(n.storage.writes().isEmpty());
    QVERIFY(n.maps.findOr(u"readonly"_s) == nullptr);
}

void TestOperationHandler::pushDiffToLwwMapIsAConflict()
{
    Node &n = *m_node;
    n.maps.lwwMap(u"todos"_s);
    OrMapPushDiffMessage push;
    push.mapName = u"todos"_s;
    push.entries = { OrMapEntry { u"a"_s, { orRecord(1) }, {} } };
    n.handler.handle(n.client, push);

    QCOMPARE(n.client.errors().size(), 1);
    QCOMPARE(n.client.errors().first().code, 409);
    QVERIFY(n.storage.writes().isEmpty());
}

void TestOperationHandler::pushDiffConsumesRateLimitTokens()
{
    Node &n = *m_node;
    auto chain = std::make_shared<ops::InterceptorChain>();
    // A stopped clock: no token comes back during the test.
    chain->append(std::make_shared<ops::RateLimiter>(1, 3, [] { return qint64(0); }));
    n.handler.setInterceptors(chain);

    // A forbidden push costs no token.
    OrMapPushDiffMessage forbidden;
    forbidden.mapName = u"readonly"_s;
    forbidden.entries = { OrMapEntry { u"a"_s, { orRecord(1), orRecord(2, kNow - 1) }, {} } };
    n.handler.handle(n.client, forbidden);
    QCOMPARE(n.client.errors().first().code, 403);
    n.client.clear();

    OrMapPushDiffMessage push;
    push.mapName = u"tags"_s;
    push.entries = { OrMapEntry { u"a"_s, { orRecord(1, kNow - 3), orRecord(2, kNow - 2) }, {} } };
    n.handler.handle(n.client, push);
    QVERIFY(n.client.sent().isEmpty());
    QCOMPARE(n.writeKinds().size(), 2);

    // One token left: the first op goes through, the second is refused.
    n.handler.handle(n.client,
        batch({ orAdd(u"1"_s, u"tags"_s, u"b"_s, 3, kNow - 1),
            orAdd(u"2"_s, u"tags"_s, u"c"_s, 4, kNow) }));
    const auto rejected = n.client.typed<OpRejectedMessage>();
    QCOMPARE(rejected.size(), 1);
    QCOMPARE(rejected.first()->opId, u"2"_s);
    QCOMPARE(rejected.first()->code, 429);
    QCOMPARE(rejected.first()->reason, u"Rate limit exceeded"_s);
    n.client.clear();

    n.handler.handle(n.client, push);
    QCOMPARE(n.client.errors().size(), 1);
    QCOMPARE(n.client.errors().first().code, 429);
    QCOMPARE(n.client.errors().first().message, u"Rate limit exceeded"_s);
}

QTEST_GUILESS_MAIN(TestOperationHandler)
#include "tst_operationhandler.moc"

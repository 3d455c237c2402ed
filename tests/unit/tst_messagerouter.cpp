#include "TestSession.h"

#include "auth/SecurityPolicy.h"
#include "network/MessageRouter.h"
#include "protocol/Messages.h"
#include "protocol/OpBatchDecoder.h"

#include <QCborArray>
#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using network::Access;
using network::MessageRouter;
using network::Permission;
using network::Session;
using test::TestSession;

namespace {

template <typename Message> QByteArray frameOf(const Message &message)
{
    return Frame::encode(message.toCbor());
}

QByteArray typeOnly(const QString &type)
{
    return Frame::encode(QCborMap { { u"type"_s, type } });
}

QCborMap timestamp(qint64 millis = 1'700'000'000'000)
{
    return QCborMap { { u"millis"_s, millis }, { u"counter"_s, 2 },
        { u"nodeId"_s, u"client-a"_s } };
}

QCborMap putOp(const QString &id, const QCborValue &value)
{
    return QCborMap { { u"id"_s, id }, { u"mapName"_s, u"todos"_s }, { u"key"_s, u"k"_s + id },
        { u"opType"_s, u"PUT"_s },
        { u"record"_s, QCborMap { { u"value"_s, value }, { u"timestamp"_s, timestamp() } } } };
}

QByteArray opBatch(const QCborArray &ops, const QCborMap &extra = {})
{
    QCborMap payload { { u"ops"_s, ops } };
    for (auto it = extra.cbegin(); it != extra.cend(); ++it)
        payload.insert(it.key(), it.value());
    return Frame::encode(QCborMap { { u"type"_s, u"OP_BATCH"_s }, { u"payload"_s, payload } });
}

QByteArray clientOp(const QCborMap &op)
{
    return Frame::encode(QCborMap { { u"type"_s, u"CLIENT_OP"_s }, { u"payload"_s, op } });
}

QByteArray querySub(const QString &map)
{
    QuerySubMessage sub;
    sub.queryId = u"q1"_s;
    sub.mapName = map;
    return frameOf(sub);
}

QByteArray syncInit(const QString &map)
{
    SyncInitMessage init;
    init.mapName = map;
    return frameOf(init);
}

QByteArray ping()
{
    PingMessage message;
    message.timestamp = 5;
    return frameOf(message);
}

QByteArray authFrame()
{
    AuthMessage message;
    message.token = u"t"_s;
    return frameOf(message);
}

void compareOps(const DecodedOps &actual, const DecodedOps &expected)
{
    QCOMPARE(actual.type, expected.type);
    QCOMPARE(actual.ops.size(), expected.ops.size());
    for (qsizetype i = 0; i < actual.ops.size(); ++i)
        QVERIFY2(actual.ops.at(i) == expected.ops.at(i), qPrintable(u"op %1"_s.arg(i)));
    // The generic path lists an empty reason per good op, the fast one none: the same verdicts.
    for (qsizetype i = 0; i < actual.ops.size(); ++i) {
        QCOMPARE(actual.isInvalid(i), expected.isInvalid(i));
        QCOMPARE(actual.invalid.value(i), expected.invalid.value(i));
    }
    QCOMPARE(actual.writeConcern, expected.writeConcern);
}

} // namespace

class TestMessageRouter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void undecodableFrameClosesWith1002();
    void notATypedMapIsError400_data();
    void notATypedMapIsError400();
    void unroutedTypeWhenAuthenticatedIsError400_data();
    void unroutedTypeWhenAuthenticatedIsError400();
    void unauthenticatedSessionIsClosedWith4001_data();
    void unauthenticatedSessionIsClosedWith4001();
    void anonymousMessagesPassBeforeAuth_data();
    void anonymousMessagesPassBeforeAuth();
    void readPermissionGate_data();
    void readPermissionGate();
    void forbiddenReadIsNotCounted();
    void undecodableTypedMessageIsError400_data();
    void undecodableTypedMessageIsError400();
    void countsPerType();
    void fastOpPathMatchesTheGenericPath_data();
    void fastOpPathMatchesTheGenericPath();

private:
    std::unique_ptr<auth::SecurityPolicy> m_policy;
    std::unique_ptr<MessageRouter> m_router;
    std::unique_ptr<TestSession> m_session;
    QStringList m_handled;
    QList<DecodedOps> m_ops;
};

void TestMessageRouter::init()
{
    using Rule = auth::SecurityPolicy::Rule;
    m_policy = std::make_unique<auth::SecurityPolicy>(QList<Rule> {
        Rule { u"USER"_s, u"public.*"_s, auth::SecurityPolicy::kAllActions },
        Rule { u"USER"_s, u"todos"_s, auth::SecurityPolicy::kAllActions },
        Rule { u"USER"_s, u"writeonly"_s, auth::SecurityPolicy::Action::Put },
    });
    m_router = std::make_unique<MessageRouter>(*m_policy);
    m_session = std::make_unique<TestSession>(7);
    m_handled.clear();
    m_ops.clear();

    const auto record = [this](const QString &name) {
        return [this, name](Session &, const auto &) { m_handled.append(name); };
    };
    m_router->on<AuthMessage>(
        MessageType::Auth, Access::Anonymous, Permission::None, record(u"AUTH"_s));
    m_router->on<PingMessage>(
        MessageType::Ping, Access::Anonymous, Permission::None, record(u"PING"_s));
    const auto ops = [this](Session &, const DecodedOps &decoded) {
        m_handled.append(QString(messageTypeName(decoded.type)));
        m_ops.append(decoded);
    };
    m_router->on<DecodedOps>(MessageType::ClientOp, Access::Authenticated, Permission::PerOp, ops);
    m_router->on<DecodedOps>(MessageType::OpBatch, Access::Authenticated, Permission::PerOp, ops);
    m_router->on<QuerySubMessage>(
        MessageType::QuerySub, Access::Authenticated, Permission::Read, record(u"QUERY_SUB"_s));
    m_router->on<QueryUnsubMessage>(
        MessageType::QueryUnsub, Access::Authenticated, Permission::None, record(u"QUERY_UNSUB"_s));
    m_router->on<SyncInitMessage>(
        MessageType::SyncInit, Access::Authenticated, Permission::Read, record(u"SYNC_INIT"_s));
}

void TestMessageRouter::cleanup()
{
    m_router.reset();
    m_session.reset();
}

void TestMessageRouter::undecodableFrameClosesWith1002()
{
    for (const bool authenticated : { false, true }) {
        m_session = std::make_unique<TestSession>(7);
        if (authenticated)
            m_session->authenticate();
        m_router->dispatch(*m_session, QByteArray("\xc1\xc1", 2));
        QCOMPARE(m_session->closes().size(), 1);
        QCOMPARE(m_session->closes().first().code, CloseCode::ProtocolError);
        QVERIFY(m_session->sent().isEmpty());
    }
    QVERIFY(m_handled.isEmpty());
}

void TestMessageRouter::notATypedMapIsError400_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<bool>("authenticated");

    const QByteArray array = wire::MsgPackCodec::encode(QCborArray { 1, 2 });
    const QByteArray untyped = Frame::encode(QCborMap { { u"payload"_s, 1 } });
    const QByteArray numberType = Frame::encode(QCborMap { { u"type"_s, 3 } });
    QTest::newRow("array") << array << true;
    QTest::newRow("no type") << untyped << true;
    QTest::newRow("type not a string") << numberType << true;
    QTest::newRow("array, before auth") << array << false;
}

void TestMessageRouter::notATypedMapIsError400()
{
    QFETCH(QByteArray, frame);
    QFETCH(bool, authenticated);
    if (authenticated)
        m_session->authenticate();

    m_router->dispatch(*m_session, frame);

    QVERIFY(m_session->closes().isEmpty());
    const auto errors = m_session->errors();
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.first().code, 400);
    QCOMPARE(errors.first().message, u"Invalid message format"_s);
    QVERIFY(m_session->sent().first().urgent);
    QVERIFY(m_handled.isEmpty());
}

void TestMessageRouter::unroutedTypeWhenAuthenticatedIsError400_data()
{
    QTest::addColumn<QString>("type");
    QTest::newRow("unknown") << u"NO_SUCH_MESSAGE"_s;
    QTest::newRow("known, not routed") << u"MERKLE_REQ_BUCKET"_s;
    QTest::newRow("server -> client type") << u"OP_ACK"_s;
}

void TestMessageRouter::unroutedTypeWhenAuthenticatedIsError400()
{
    QFETCH(QString, type);
    m_session->authenticate();
    m_router->dispatch(*m_session, typeOnly(type));

    QVERIFY(m_session->closes().isEmpty());
    QCOMPARE(m_session->errors().size(), 1);
    QCOMPARE(m_session->errors().first().code, 400);
    QCOMPARE(m_session->errors().first().message, u"Invalid message format"_s);
    QVERIFY(m_handled.isEmpty());
}

void TestMessageRouter::unauthenticatedSessionIsClosedWith4001_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::newRow("unknown type") << typeOnly(u"NO_SUCH_MESSAGE"_s);
    QTest::newRow("OP_BATCH") << opBatch({ putOp(u"1"_s, 1) });
    QTest::newRow("CLIENT_OP") << clientOp(putOp(u"1"_s, 1));
    QTest::newRow("QUERY_SUB") << querySub(u"todos"_s);
    QTest::newRow("SYNC_INIT, undecodable") << typeOnly(u"SYNC_INIT"_s);
}

void TestMessageRouter::unauthenticatedSessionIsClosedWith4001()
{
    QFETCH(QByteArray, frame);
    for (const network::AuthState state :
        { network::AuthState::Pending, network::AuthState::Failed }) {
        m_session = std::make_unique<TestSession>(7);
        if (state == network::AuthState::Failed)
            m_session->setAuthFailed();
        m_router->dispatch(*m_session, frame);
        QCOMPARE(m_session->closes().size(), 1);
        QCOMPARE(m_session->closes().first().code, CloseCode::Unauthorized);
        QCOMPARE(m_session->closes().first().reason, u"Auth required"_s);
        QVERIFY(m_session->sent().isEmpty());
    }
    QVERIFY(m_handled.isEmpty());
    QCOMPARE(m_router->routedByType().value(u"OP_BATCH"_s), quint64(0));
}

void TestMessageRouter::anonymousMessagesPassBeforeAuth_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("handler");
    QTest::newRow("AUTH") << authFrame() << u"AUTH"_s;
    QTest::newRow("PING") << ping() << u"PING"_s;
    QTest::newRow("PING as JSON text") << QByteArray(R"({"type":"PING"})") << u"PING"_s;
}

void TestMessageRouter::anonymousMessagesPassBeforeAuth()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, handler);
    m_router->dispatch(*m_session, frame);
    QCOMPARE(m_handled, QStringList { handler });
    QVERIFY(m_session->closes().isEmpty());
    QVERIFY(m_session->sent().isEmpty());
}

void TestMessageRouter::readPermissionGate_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("map");
    QTest::addColumn<QString>("handler"); // empty: refused

    QTest::newRow("QUERY_SUB allowed")
        << querySub(u"public.news"_s) << u"public.news"_s << u"QUERY_SUB"_s;
    QTest::newRow("QUERY_SUB forbidden") << querySub(u"secret"_s) << u"secret"_s << QString();
    QTest::newRow("QUERY_SUB, PUT only") << querySub(u"writeonly"_s) << u"writeonly"_s << QString();
    QTest::newRow("SYNC_INIT allowed") << syncInit(u"todos"_s) << u"todos"_s << u"SYNC_INIT"_s;
    QTest::newRow("SYNC_INIT forbidden") << syncInit(u"secret"_s) << u"secret"_s << QString();
}

void TestMessageRouter::readPermissionGate()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, map);
    QFETCH(QString, handler);
    m_session->authenticate();

    m_router->dispatch(*m_session, frame);

    QVERIFY(m_session->closes().isEmpty());
    if (handler.isEmpty()) {
        QVERIFY(m_handled.isEmpty());
        QCOMPARE(m_session->errors().size(), 1);
        QCOMPARE(m_session->errors().first().code, 403);
        QCOMPARE(m_session->errors().first().message, u"Access denied: READ on %1"_s.arg(map));
    } else {
        QCOMPARE(m_handled, QStringList { handler });
        QVERIFY(m_session->sent().isEmpty());
    }
}

void TestMessageRouter::forbiddenReadIsNotCounted()
{
    // routedByType counts what reached a handler; a 403 never does.
    m_session->authenticate();
    m_router->dispatch(*m_session, querySub(u"secret"_s));
    QCOMPARE(m_session->errors().size(), 1);
    QCOMPARE(m_router->routedByType().value(u"QUERY_SUB"_s), quint64(0));
}

void TestMessageRouter::undecodableTypedMessageIsError400_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("type");

    QTest::newRow("QUERY_SUB without payload") << typeOnly(u"QUERY_SUB"_s) << u"QUERY_SUB"_s;
    QTest::newRow("SYNC_INIT without mapName") << typeOnly(u"SYNC_INIT"_s) << u"SYNC_INIT"_s;
    QTest::newRow("OP_BATCH, ops not an array") << Frame::encode(
        QCborMap { { u"type"_s, u"OP_BATCH"_s }, { u"payload"_s, QCborMap { { u"ops"_s, 1 } } } })
                                                << u"OP_BATCH"_s;
    QTest::newRow("CLIENT_OP without payload") << typeOnly(u"CLIENT_OP"_s) << u"CLIENT_OP"_s;
}

void TestMessageRouter::undecodableTypedMessageIsError400()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, type);
    m_session->authenticate();

    m_router->dispatch(*m_session, frame);

    QVERIFY(m_handled.isEmpty());
    QVERIFY(m_session->closes().isEmpty());
    QCOMPARE(m_session->errors().size(), 1);
    QCOMPARE(m_session->errors().first().code, 400);
    QCOMPARE(m_session->errors().first().message, u"Invalid message format"_s);
    QCOMPARE(m_router->routedByType().value(type), quint64(0));
}

void TestMessageRouter::countsPerType()
{
    m_router->dispatch(*m_session, ping());
    m_session->authenticate();
    m_router->dispatch(*m_session, ping());
    m_router->dispatch(*m_session, opBatch({ putOp(u"1"_s, 1), putOp(u"2"_s, 2) }));
    m_router->dispatch(*m_session, clientOp(putOp(u"3"_s, 3)));
    m_router->dispatch(*m_session, clientOp(putOp(u"4"_s, 4)));
    m_router->dispatch(*m_session, syncInit(u"todos"_s));
    m_router->dispatch(*m_session, typeOnly(u"NO_SUCH_MESSAGE"_s));

    const QMap<QString, quint64> expected {
        { u"AUTH"_s, 0 },
        { u"PING"_s, 2 },
        { u"CLIENT_OP"_s, 2 },
        { u"OP_BATCH"_s, 1 },
        { u"QUERY_SUB"_s, 0 },
        { u"QUERY_UNSUB"_s, 0 },
        { u"SYNC_INIT"_s, 1 },
    };
    QCOMPARE(m_router->routedByType(), expected);
}

void TestMessageRouter::fastOpPathMatchesTheGenericPath_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<bool>("fastPathTakesIt");

    QTest::newRow("OP_BATCH") << opBatch({ putOp(u"1"_s, QCborMap { { u"title"_s, u"milk"_s } }),
        putOp(u"2"_s, 2.5) }) << true;
    QTest::newRow("OP_BATCH with write concern") << opBatch({ putOp(u"1"_s, 1) },
        QCborMap { { u"writeConcern"_s, u"PERSISTED"_s }, { u"timeout"_s, 5000 } })
                                                 << true;
    QCborMap remove = putOp(u"1"_s, QCborValue(QCborValue::Null));
    remove.insert(u"opType"_s, u"REMOVE"_s);
    QTest::newRow("CLIENT_OP remove") << clientOp(remove) << true;
    const QCborMap orAdd { { u"id"_s, u"5"_s }, { u"mapName"_s, u"tags"_s }, { u"key"_s, u"a"_s },
        { u"opType"_s, u"OR_ADD"_s },
        { u"orRecord"_s,
            QCborMap { { u"value"_s, u"red"_s }, { u"timestamp"_s, timestamp() },
                { u"tag"_s, u"1700000000000:2:client-a"_s } } } };
    QTest::newRow("CLIENT_OP OR_ADD") << clientOp(orAdd) << true;
    QCborMap noKey = putOp(u"2"_s, 1);
    noKey.remove(u"key"_s);
    QTest::newRow("OP_BATCH with a malformed op")
        << opBatch({ putOp(u"1"_s, 1), noKey, putOp(u"3"_s, 3) }) << false;
}

void TestMessageRouter::fastOpPathMatchesTheGenericPath()
{
    QFETCH(QByteArray, frame);
    QFETCH(bool, fastPathTakesIt);
    m_session->authenticate();

    m_router->dispatch(*m_session, frame);
    QCOMPARE(m_ops.size(), 1);
    QVERIFY(m_session->sent().isEmpty());

    const FrameDecodeResult decoded = Frame::decode(frame);
    QVERIFY(decoded.ok());
    const std::optional<DecodedOps> generic = DecodedOps::fromCbor(decoded.message, nullptr);
    QVERIFY(generic);
    compareOps(m_ops.first(), *generic);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(generic->timeout, m_ops.first().timeout);

    const std::optional<DecodedOps> fast = protocol::OpBatchDecoder().decode(frame);
    QCOMPARE(bool(fast), fastPathTakesIt);
    if (fast)
        compareOps(*fast, *generic);
}

QTEST_GUILESS_MAIN(TestMessageRouter)
#include "tst_messagerouter.moc"

#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "ops/Interceptor.h"
#include "ops/interceptors/RateLimiter.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");
const QString kMap = QStringLiteral("notes");

// Records what it sees and does what the test tells it to.
class ScriptedInterceptor : public ops::Interceptor
{
public:
    std::function<ops::ConnectionVerdict(const ops::ConnectionContext &)> connection;
    std::function<ops::OpVerdict(protocol::ClientOp &)> beforeOp;

    QList<ops::ConnectionContext> connected;
    QList<quint64> disconnected;
    QStringList before; // keys
    QList<protocol::ClientOp> after;

    ops::ConnectionVerdict onConnection(const ops::ConnectionContext &context) override
    {
        connected.append(context);
        return connection ? connection(context) : ops::ConnectionVerdict::accept();
    }
    void onDisconnect(const ops::ConnectionContext &context) override
    {
        disconnected.append(context.clientId);
    }
    ops::OpVerdict onBeforeOp(protocol::ClientOp &op, const ops::ConnectionContext &) override
    {
        before.append(op.key);
        return beforeOp ? beforeOp(op) : ops::OpVerdict::proceed();
    }
    void onAfterOp(const protocol::ClientOp &op, const ops::ConnectionContext &) override
    {
        after.append(op);
    }

    QStringList afterKeys() const
    {
        QStringList keys;
        for (const protocol::ClientOp &op : after)
            keys << op.key;
        return keys;
    }
};

QCborMap lwwPut(const QString &id, const QString &key, const QCborValue &value, qint64 millis,
    const QString &node = QStringLiteral("client-a"))
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = kMap;
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, node }, std::nullopt };
    return op.toCbor();
}

QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { kType, QStringLiteral("OP_BATCH") },
        { kPayload, QCborMap { { QStringLiteral("ops"), ops } } } };
}

QCborMap payloadOf(const std::optional<QCborMap> &message)
{
    return message ? message->value(kPayload).toMap() : QCborMap();
}

// opId → success, from an OP_ACK's results.
QHash<QString, bool> resultsOf(const QCborMap &ack)
{
    QHash<QString, bool> results;
    for (const QCborValue &r : ack.value(QStringLiteral("results")).toArray())
        results.insert(r.toMap().value(QStringLiteral("opId")).toString(),
            r.toMap().value(QStringLiteral("success")).toBool());
    return results;
}

} // namespace

class tst_Interceptors : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    std::shared_ptr<ScriptedInterceptor> m_scripted;
    qint64 m_now = 0;

    ServerConfig configWithScripted()
    {
        ServerConfig config = testConfig();
        config.interceptors = { m_scripted };
        return config;
    }

    std::unique_ptr<RawClient> client()
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(m_server->port(), TestTokens::userToken(kTestSecret)))
            return nullptr;
        return c;
    }

private Q_SLOTS:
    void init()
    {
        m_now = QDateTime::currentMSecsSinceEpoch();
        m_scripted = std::make_shared<ScriptedInterceptor>();
    }

    void cleanup()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void onConnectionSeesClientIdAndSocket()
    {
        m_server = startServer(configWithScripted());
        QVERIFY(m_server);
        RawClient raw;
        QVERIFY(raw.connectTo(m_server->port()));
        QVERIFY(raw.take(QStringLiteral("AUTH_REQUIRED")));
        QCOMPARE(m_scripted->connected.size(), 1);
        const ops::ConnectionContext &context = m_scripted->connected.first();
        QCOMPARE(m_server->connections().size(), 1);
        QCOMPARE(context.clientId, m_server->connections().first().id);
        QVERIFY(context.socket);
        QCOMPARE(context.socket->peerPort(), raw.socket().localPort());
        QCOMPARE(
            context.remoteAddress, QStringLiteral("127.0.0.1:%1").arg(raw.socket().localPort()));
        QCOMPARE(context.authState, auth::AuthState::Pending);
        raw.sendAuth(TestTokens::userToken(kTestSecret));
        QVERIFY(raw.take(QStringLiteral("AUTH_ACK")));
    }

    void rejectingOnConnectionClosesWith4000()
    {
        m_scripted->connection = [](const ops::ConnectionContext &) {
            return ops::ConnectionVerdict::reject(QStringLiteral("banned"));
        };
        m_server = startServer(configWithScripted());
        QVERIFY(m_server);
        RawClient raw;
        // The close can come before connectTo() sees the open state, so its result says nothing.
        raw.connectTo(m_server->port());
        QVERIFY(raw.waitForDisconnected());
        QCOMPARE(raw.closeCode(), 4000);
        QCOMPARE(raw.closeReason(), QStringLiteral("Connection Rejected"));
        QVERIFY(raw.receivedTypes().isEmpty());
        QTRY_COMPARE(m_server->connections().size(), 0);
        QTRY_COMPARE(m_scripted->disconnected.size(), 1);
    }

    void onDisconnectFires()
    {
        m_server = startServer(configWithScripted());
        QVERIFY(m_server);
        auto c = client();
        QVERIFY(c);
        const quint64 id = m_server->connections().first().id;
        QVERIFY(m_scripted->disconnected.isEmpty());
        c->close();
        QVERIFY(c->waitForDisconnected());
        QTRY_COMPARE(m_scripted->disconnected, QList<quint64> { id });
    }

    void modifiedOpIsWhatIsStored()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ServerConfig config = configWithScripted();
        config.storage = QStringLiteral("sqlite:") + dir.filePath(QStringLiteral("wingman.db"));
        m_scripted->beforeOp = [](protocol::ClientOp &op) {
            op.record->value = QCborMap { { QStringLiteral("redacted"), true } };
            return ops::OpVerdict::proceed();
        };
        m_server = startServer(config);
        QVERIFY(m_server);
        auto c = client();
        QVERIFY(c);
        c->send(opBatch({ lwwPut("1", "k", QStringLiteral("secret"), m_now) }));
        QVERIFY(resultsOf(payloadOf(c->takeAck())).value("1"));
        const QCborValue redacted(QCborMap { { QStringLiteral("redacted"), true } });
        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("k")), std::optional(redacted));
        QCOMPARE(m_scripted->after.size(), 1);
        QCOMPARE(m_scripted->after.first().record->value, redacted);
        c.reset();
        QVERIFY(stopServer(*m_server));

        config.interceptors.clear();
        m_server = startServer(config);
        QVERIFY(m_server);
        QVERIFY(m_server->getMap(kMap));
        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("k")), std::optional(redacted));
    }

    void droppedOpIsAcknowledgedButNotStored()
    {
        m_scripted->beforeOp = [](protocol::ClientOp &op) {
            return op.key.startsWith(u"drop") ? ops::OpVerdict::drop() : ops::OpVerdict::proceed();
        };
        m_server = startServer(configWithScripted());
        QVERIFY(m_server);
        auto writer = client();
        auto listener = client();
        QVERIFY(writer && listener);
        listener->send(QCborMap {
            { kType, QStringLiteral("SYNC_INIT") }, { QStringLiteral("mapName"), kMap } });
        QVERIFY(listener->take(QStringLiteral("SYNC_RESP_ROOT")));

        writer->send(opBatch({ lwwPut("1", "drop-me", 1, m_now), lwwPut("2", "keep", 2, m_now) }));
        const QCborMap ack = payloadOf(writer->takeAck());
        QCOMPARE(ack.value(QStringLiteral("lastId")).toString(), QStringLiteral("2"));
        const auto results = resultsOf(ack);
        QCOMPARE(results.size(), 2);
        QVERIFY(results.value("1"));
        QVERIFY(results.value("2"));
        QVERIFY(!writer->has(QStringLiteral("OP_REJECTED")));
        QVERIFY(!writer->has(QStringLiteral("ERROR")));

        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("drop-me")), std::nullopt);
        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("keep")), std::optional<QCborValue>(2));
        const auto event = listener->take(QStringLiteral("SERVER_EVENT"));
        QVERIFY(event);
        QCOMPARE(event->value(kPayload).toMap().value(QStringLiteral("key")).toString(),
            QStringLiteral("keep"));
        QCOMPARE(m_scripted->before, (QStringList { "drop-me", "keep" }));
        QCOMPARE(m_scripted->afterKeys(), QStringList { "keep" });
    }

    void rejectedOpGetsItsCodeAndIsNotStored()
    {
        m_scripted->beforeOp = [](protocol::ClientOp &op) {
            return op.key == u"bad" ? ops::OpVerdict::reject(451, QStringLiteral("Not here"))
                                    : ops::OpVerdict::proceed();
        };
        m_server = startServer(configWithScripted());
        QVERIFY(m_server);
        auto writer = client();
        QVERIFY(writer);
        writer->send(opBatch({ lwwPut("1", "bad", 1, m_now), lwwPut("2", "good", 2, m_now) }));
        const QCborMap rejected = payloadOf(writer->take(QStringLiteral("OP_REJECTED")));
        QCOMPARE(rejected.value(QStringLiteral("opId")).toString(), QStringLiteral("1"));
        QCOMPARE(rejected.value(QStringLiteral("code")).toInteger(), 451);
        QCOMPARE(rejected.value(QStringLiteral("reason")).toString(), QStringLiteral("Not here"));
        const auto results = resultsOf(payloadOf(writer->takeAck()));
        QVERIFY(!results.value("1", true));
        QVERIFY(results.value("2"));
        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("bad")), std::nullopt);
        QCOMPARE(m_scripted->afterKeys(), QStringList { "good" });
    }

    void rateLimiterRejectsBeyondBurstAndRecovers()
    {
        qint64 clockMs = m_now;
        ServerConfig config = testConfig();
        config.clock = [&clockMs] { return clockMs; };
        config.rateLimitOpsPerSecond = 10;
        config.rateLimitBurst = 3;
        m_server = startServer(config);
        QVERIFY(m_server);
        auto writer = client();
        QVERIFY(writer);

        QCborArray burst;
        for (int i = 1; i <= 5; ++i)
            burst.append(lwwPut(QString::number(i), QStringLiteral("k%1").arg(i), i, m_now));
        writer->send(opBatch(burst));
        auto results = resultsOf(payloadOf(writer->takeAck()));
        QCOMPARE(results.size(), 5);
        QVERIFY(results.value("1") && results.value("2") && results.value("3"));
        QVERIFY(!results.value("4", true) && !results.value("5", true));
        for (const char *id : { "4", "5" }) {
            const QCborMap rejected = payloadOf(writer->take(QStringLiteral("OP_REJECTED")));
            QCOMPARE(rejected.value(QStringLiteral("opId")).toString(), QString::fromLatin1(id));
            QCOMPARE(rejected.value(QStringLiteral("code")).toInteger(), 429);
            QCOMPARE(rejected.value(QStringLiteral("reason")).toString(),
                QStringLiteral("Rate limit exceeded"));
        }
        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("k4")), std::nullopt);

        // 200 ms at 10 ops/s buys two ops back, not three.
        clockMs += 200;
        writer->send(opBatch({ lwwPut("6", "k6", 6, m_now), lwwPut("7", "k7", 7, m_now),
            lwwPut("8", "k8", 8, m_now) }));
        results = resultsOf(payloadOf(writer->takeAck()));
        QVERIFY(results.value("6") && results.value("7"));
        QVERIFY(!results.value("8", true));

        // A long pause refills to the burst, no further.
        clockMs += 60000;
        QCborArray again;
        for (int i = 9; i <= 12; ++i)
            again.append(lwwPut(QString::number(i), QStringLiteral("k%1").arg(i), i, m_now));
        writer->send(opBatch(again));
        results = resultsOf(payloadOf(writer->takeAck()));
        QVERIFY(results.value("9") && results.value("10") && results.value("11"));
        QVERIFY(!results.value("12", true));

        // Buckets are per client.
        auto other = client();
        QVERIFY(other);
        other->send(opBatch({ lwwPut("1", "o1", 1, m_now) }));
        QVERIFY(resultsOf(payloadOf(other->takeAck())).value("1"));
    }

    void rateLimiterFreesBucketOnDisconnect()
    {
        qint64 clockMs = 0;
        ops::RateLimiter limiter(1, 1, [&clockMs] { return clockMs; });
        ops::ConnectionContext a;
        a.clientId = 1;
        ops::ConnectionContext b;
        b.clientId = 2;
        protocol::ClientOp op;
        QCOMPARE(limiter.onBeforeOp(op, a).kind, ops::OpVerdict::Kind::Continue);
        QCOMPARE(limiter.onBeforeOp(op, a).kind, ops::OpVerdict::Kind::Reject);
        QCOMPARE(limiter.onBeforeOp(op, b).kind, ops::OpVerdict::Kind::Continue);
        QCOMPARE(limiter.trackedClients(), 2);
        limiter.onDisconnect(a);
        QCOMPARE(limiter.trackedClients(), 1);
        clockMs -= 5000; // a clock stepping back must not mint tokens
        QCOMPARE(limiter.onBeforeOp(op, b).kind, ops::OpVerdict::Kind::Reject);
    }

    void stamperReplacesAFarFutureTimestamp()
    {
        qint64 seenMillis = 0;
        m_scripted->beforeOp = [&seenMillis](protocol::ClientOp &op) {
            seenMillis = op.record->timestamp.millis;
            return ops::OpVerdict::proceed();
        };
        ServerConfig config = configWithScripted();
        config.stampServerTimestamps = true;
        m_server = startServer(config);
        QVERIFY(m_server);
        auto skewed = client();
        auto honest = client();
        QVERIFY(skewed && honest);

        const qint64 tenYears = 10LL * 365 * 24 * 3600 * 1000;
        skewed->send(opBatch({ lwwPut("1", "k", QStringLiteral("from the future"), m_now + tenYears,
            QStringLiteral("skewed")) }));
        QVERIFY(resultsOf(payloadOf(skewed->takeAck())).value("1"));
        const auto stamped = m_server->getMap(kMap)->getRecord(QStringLiteral("k"));
        QVERIFY(stamped);
        QVERIFY(stamped->timestamp.millis < m_now + 60000);
        QVERIFY(stamped->timestamp.millis >= m_now);
        QCOMPARE(stamped->timestamp.nodeId, m_server->nodeId());
        // Other interceptors run before the stamper; onAfterOp sees what was applied.
        QCOMPARE(seenMillis, m_now + tenYears);
        QCOMPARE(m_scripted->after.size(), 1);
        QCOMPARE(m_scripted->after.first().record->timestamp, stamped->timestamp);

        // The skew no longer wins: a later write with an honest clock does.
        honest->send(
            opBatch({ lwwPut("1", "k", QStringLiteral("now"), m_now, QStringLiteral("honest")) }));
        QVERIFY(resultsOf(payloadOf(honest->takeAck())).value("1"));
        QCOMPARE(m_server->getMap(kMap)->get(QStringLiteral("k")),
            std::optional<QCborValue>(QStringLiteral("now")));
    }
};

QTEST_GUILESS_MAIN(tst_Interceptors)
#include "tst_interceptors.moc"

#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QElapsedTimer>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap lwwPut(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis, int counter = 0, const QString &node = QStringLiteral("client-a"))
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, counter, node }, std::nullopt };
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

// The frame of message with U+FFFD (EF BF BD) replaced by FF FF FF and U+FFFE (EF BF BE) by
// FE FE FE: two distinct byte strings that are not UTF-8 and that a lenient decoder would both
// read as the same replacement characters.
QByteArray withInvalidUtf8(const QCborMap &message)
{
    return protocol::Frame::encode(message)
        .replace("\xef\xbf\xbd", "\xff\xff\xff")
        .replace("\xef\xbf\xbe", "\xfe\xfe\xfe");
}

QCborMap querySub(const char *queryId, const char *map, const char *op, const QString &pattern)
{
    const QCborMap predicate { { QStringLiteral("op"), QString::fromLatin1(op) },
        { QStringLiteral("attribute"), QStringLiteral("s") },
        { QStringLiteral("value"), pattern } };
    return QCborMap { { kType, QStringLiteral("QUERY_SUB") },
        { kPayload,
            QCborMap { { QStringLiteral("queryId"), QString::fromLatin1(queryId) },
                { QStringLiteral("mapName"), QString::fromLatin1(map) },
                { QStringLiteral("query"),
                    QCborMap { { QStringLiteral("predicate"), predicate } } } } } };
}

QCborMap person(const QString &name, int age)
{
    return QCborMap { { QStringLiteral("name"), name }, { QStringLiteral("age"), age } };
}

} // namespace

class tst_Operations : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    qint64 m_now = 0;

    std::unique_ptr<RawClient> client(
        const QString &user = QStringLiteral("user-1"), const QStringList &roles = { "USER" })
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret, user, roles)))
            return nullptr;
        return c;
    }

private Q_SLOTS:
    void init()
    {
        m_now = QDateTime::currentMSecsSinceEpoch();
        ServerConfig config = testConfig();
        // USER may not touch "secret.*": only ADMIN may.
        config.policy = auth::SecurityPolicy({
            { QStringLiteral("USER"), QStringLiteral("public*"),
                auth::SecurityPolicy::kAllActions },
            { QStringLiteral("USER"), QStringLiteral("people"), auth::SecurityPolicy::kAllActions },
            { QStringLiteral("USER"), QStringLiteral("tags"), auth::SecurityPolicy::kAllActions },
            { QStringLiteral("READER"), QStringLiteral("*"), auth::SecurityPolicy::Action::Read },
        });
        m_server = startServer(config);
        QVERIFY(m_server);
    }

    void cleanup()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void batchIsAppliedAndAcknowledgedWithResults()
    {
        auto writer = client();
        QVERIFY(writer);
        writer->send(opBatch({ lwwPut("1", "public", "a", 1, m_now),
            lwwPut("2", "public", "b", 2, m_now), lwwPut("10", "public", "c", 3, m_now) }));
        const QCborMap ack = payloadOf(writer->takeAck());
        QCOMPARE(ack.value(QStringLiteral("lastId")).toString(), QStringLiteral("10"));
        const QCborArray results = ack.value(QStringLiteral("results")).toArray();
        QCOMPARE(results.size(), 3);
        QStringList ids;
        for (const QCborValue &r : results) {
            ids << r.toMap().value(QStringLiteral("opId")).toString();
            QVERIFY(r.toMap().value(QStringLiteral("success")).toBool());
        }
        QCOMPARE(ids, (QStringList { "1", "2", "10" }));

        crdt::LwwMap *map = m_server->getMap(QStringLiteral("public"));
        QVERIFY(map);
        QCOMPARE(map->get(QStringLiteral("a")), std::optional<QCborValue>(1));
        QCOMPARE(map->get(QStringLiteral("c")), std::optional<QCborValue>(3));
    }

    void singleClientOpIsAcknowledged()
    {
        auto writer = client();
        QVERIFY(writer);
        writer->send(QCborMap { { kType, QStringLiteral("CLIENT_OP") },
            { kPayload, lwwPut("7", "public", "k", QStringLiteral("v"), m_now) } });
        QCOMPARE(payloadOf(writer->takeAck()).value(QStringLiteral("lastId")).toString(),
            QStringLiteral("7"));
        QCOMPARE(m_server->getMap(QStringLiteral("public"))->get(QStringLiteral("k")),
            std::optional<QCborValue>(QStringLiteral("v")));
    }

    void olderWriteLosesButIsAcknowledged()
    {
        auto writer = client();
        QVERIFY(writer);
        writer->send(opBatch({ lwwPut("1", "public", "k", QStringLiteral("new"), m_now + 10) }));
        QVERIFY(writer->takeAck());
        writer->send(opBatch({ lwwPut("2", "public", "k", QStringLiteral("old"), m_now) }));
        const QCborMap ack = payloadOf(writer->takeAck());
        QCOMPARE(ack.value(QStringLiteral("lastId")).toString(), QStringLiteral("2"));
        QCOMPARE(m_server->getMap(QStringLiteral("public"))->get(QStringLiteral("k")),
            std::optional<QCborValue>(QStringLiteral("new")));
    }

    void refusedOpsAreRejectedAndTheRestApplies()
    {
        auto writer = client();
        QVERIFY(writer);
        QCborMap orAdd { { QStringLiteral("id"), QStringLiteral("4") },
            { QStringLiteral("mapName"), QStringLiteral("public") },
            { QStringLiteral("key"), QStringLiteral("x") },
            { QStringLiteral("opType"), QStringLiteral("OR_ADD") },
            { QStringLiteral("orRecord"),
                protocol::orRecordToCbor({ 1, { m_now, 0, "client-a" },
                    QStringLiteral("%1:0:client-a").arg(m_now), std::nullopt }) } };
        writer->send(opBatch(
            { lwwPut("1", "secret.plans", "a", 1, m_now), lwwPut("2", "public", "ok", 2, m_now),
                QCborMap { { QStringLiteral("id"), QStringLiteral("3") },
                    { QStringLiteral("mapName"), 42 } },
                orAdd }));
        QList<QCborMap> rejected;
        for (int i = 0; i < 3; ++i) {
            const auto r = writer->take(QStringLiteral("OP_REJECTED"));
            QVERIFY(r);
            rejected << r->value(kPayload).toMap();
        }
        QCOMPARE(rejected.at(0).value(QStringLiteral("opId")).toString(), QStringLiteral("1"));
        QCOMPARE(rejected.at(0).value(QStringLiteral("code")).toInteger(), 403);
        QCOMPARE(rejected.at(1).value(QStringLiteral("opId")).toString(), QStringLiteral("3"));
        QCOMPARE(rejected.at(1).value(QStringLiteral("code")).toInteger(), 400);
        QCOMPARE(rejected.at(2).value(QStringLiteral("opId")).toString(), QStringLiteral("4"));
        QCOMPARE(rejected.at(2).value(QStringLiteral("code")).toInteger(), 409);

        const QCborMap ack = payloadOf(writer->takeAck());
        QCOMPARE(ack.value(QStringLiteral("lastId")).toString(), QStringLiteral("4"));
        const QCborArray results = ack.value(QStringLiteral("results")).toArray();
        QCOMPARE(results.size(), 4);
        QVERIFY(!results.at(0).toMap().value(QStringLiteral("success")).toBool());
        QVERIFY(results.at(1).toMap().value(QStringLiteral("success")).toBool());
        QVERIFY(!m_server->getMap(QStringLiteral("secret.plans")));
        QCOMPARE(m_server->getMap(QStringLiteral("public"))->get(QStringLiteral("ok")),
            std::optional<QCborValue>(2));
    }

    void invalidUtf8IsRejectedAndTheRestApplies()
    {
        auto writer = client();
        QVERIFY(writer);
        writer->sendBinary(withInvalidUtf8(opBatch({
            lwwPut("1", "public", QStringLiteral("u\uFFFD"), QStringLiteral("A"), m_now),
            lwwPut("2", "public", QStringLiteral("u\uFFFE"), QStringLiteral("B"), m_now),
            lwwPut("3", "public", "ok", 3, m_now),
            lwwPut("4", QStringLiteral("public\uFFFD"), "k", 4, m_now),
            lwwPut("5", "public", "value", QStringLiteral("bad \uFFFD"), m_now),
        })));
        QStringList rejectedIds;
        for (int i = 0; i < 4; ++i) {
            const QCborMap rejected = payloadOf(writer->take(QStringLiteral("OP_REJECTED")));
            QCOMPARE(rejected.value(QStringLiteral("code")).toInteger(), 400);
            QVERIFY2(rejected.value(QStringLiteral("reason")).toString().contains(u"UTF-8"),
                qPrintable(rejected.value(QStringLiteral("reason")).toString()));
            rejectedIds << rejected.value(QStringLiteral("opId")).toString();
        }
        QCOMPARE(rejectedIds, (QStringList { "1", "2", "4", "5" }));
        const QCborArray results
            = payloadOf(writer->takeAck()).value(QStringLiteral("results")).toArray();
        QCOMPARE(results.size(), 5);
        for (int i = 0; i < 5; ++i)
            QCOMPARE(results.at(i).toMap().value(QStringLiteral("success")).toBool(), i == 2);

        crdt::LwwMap *map = m_server->getMap(QStringLiteral("public"));
        QVERIFY(map);
        QCOMPARE(map->keys(), QStringList { QStringLiteral("ok") });
        QCOMPARE(map->get(QStringLiteral("ok")), std::optional<QCborValue>(3));
        QVERIFY(!m_server->getMap(QStringLiteral("public\uFFFD")));

        // Any other message with invalid UTF-8 is refused whole.
        writer->sendBinary(withInvalidUtf8(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("q") },
                    { QStringLiteral("mapName"), QStringLiteral("people\uFFFD") },
                    { QStringLiteral("query"), QCborMap() } } } }));
        QCOMPARE(payloadOf(writer->take(QStringLiteral("ERROR")))
                     .value(QStringLiteral("code"))
                     .toInteger(),
            400);
        QVERIFY(!writer->has(QStringLiteral("QUERY_RESP")));
        QVERIFY(!m_server->getMap(QStringLiteral("people\uFFFD")));
        QVERIFY(writer->isConnected());
    }

    void farFutureTimestampIsRejectedAndDoesNotMoveTheClock()
    {
        auto writer = client();
        QVERIFY(writer);
        const qint64 future = qint64(9e15);
        const QString tag = QStringLiteral("%1:0:client-a").arg(future);
        const QCborMap orAdd { { QStringLiteral("id"), QStringLiteral("2") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("key"), QStringLiteral("t") },
            { QStringLiteral("opType"), QStringLiteral("OR_ADD") },
            { QStringLiteral("orRecord"),
                protocol::orRecordToCbor({ 1, { future, 0, "client-a" }, tag, std::nullopt }) } };
        writer->send(opBatch({ lwwPut("1", "public", "future", 1, future), orAdd,
            lwwPut("3", "public", "now", 3, m_now) }));
        for (const QString &id : { QStringLiteral("1"), QStringLiteral("2") }) {
            const QCborMap rejected = payloadOf(writer->take(QStringLiteral("OP_REJECTED")));
            QCOMPARE(rejected.value(QStringLiteral("opId")).toString(), id);
            QCOMPARE(rejected.value(QStringLiteral("code")).toInteger(), 400);
            QVERIFY2(rejected.value(QStringLiteral("reason"))
                         .toString()
                         .contains(u"clock drift", Qt::CaseInsensitive),
                qPrintable(rejected.value(QStringLiteral("reason")).toString()));
        }
        const QCborArray results
            = payloadOf(writer->takeAck()).value(QStringLiteral("results")).toArray();
        QCOMPARE(results.size(), 3);
        QVERIFY(results.at(2).toMap().value(QStringLiteral("success")).toBool());
        crdt::LwwMap *map = m_server->getMap(QStringLiteral("public"));
        QVERIFY(map);
        QCOMPARE(map->keys(), QStringList { QStringLiteral("now") });

        // A far-future record through OR-map sync is not taken either.
        protocol::OrMapPushDiffMessage push;
        push.mapName = QStringLiteral("tags");
        push.entries.append({ QStringLiteral("pushed"),
            { crdt::OrRecord { 2, { future, 0, "client-a" }, tag, std::nullopt } }, {} });
        writer->send(push.toCbor());

        // Handled in order: once this is acknowledged, the push has been too.
        writer->send(opBatch({ lwwPut("4", "public", "later", 4, m_now) }));
        const auto ack = writer->takeAck();
        QVERIFY(ack);
        const qint64 bound = QDateTime::currentMSecsSinceEpoch() + 60000;
        const qint64 stamped = ack->value(QStringLiteral("timestamp"))
                                   .toMap()
                                   .value(QStringLiteral("millis"))
                                   .toInteger();
        QVERIFY(stamped > 0);
        QVERIFY2(stamped < bound, qPrintable(QString::number(stamped)));
        QVERIFY(map->hlc().lastTimestamp().millis < bound);
        crdt::OrMap *tags = m_server->getOrMap(QStringLiteral("tags"));
        QVERIFY(!tags
            || (tags->get(QStringLiteral("t")).isEmpty()
                && tags->get(QStringLiteral("pushed")).isEmpty()));
    }

    void listenersGetEventsButNotTheWriter()
    {
        auto writer = client();
        auto listener = client();
        QVERIFY(writer && listener);
        listener->send(QCborMap { { kType, QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("public") } });
        QVERIFY(listener->take(QStringLiteral("SYNC_RESP_ROOT")));

        writer->send(opBatch({ lwwPut("1", "public", "a", 1, m_now) }));
        const auto event = listener->take(QStringLiteral("SERVER_EVENT"));
        QVERIFY(event);
        const QCborMap payload = event->value(kPayload).toMap();
        QCOMPARE(payload.value(QStringLiteral("key")).toString(), QStringLiteral("a"));
        QCOMPARE(payload.value(QStringLiteral("eventType")).toString(), QStringLiteral("PUT"));
        QVERIFY(event->value(QStringLiteral("timestamp")).isMap());

        writer->send(opBatch(
            { lwwPut("2", "public", "b", 2, m_now), lwwPut("3", "public", "c", 3, m_now) }));
        const auto batch = listener->take(QStringLiteral("SERVER_BATCH_EVENT"));
        QVERIFY(batch);
        QCOMPARE(
            batch->value(kPayload).toMap().value(QStringLiteral("events")).toArray().size(), 2);
        QVERIFY(writer->takeAck());
        QVERIFY(!writer->has(QStringLiteral("SERVER_EVENT")));
        QVERIFY(!writer->has(QStringLiteral("SERVER_BATCH_EVENT")));
    }

    void merkleSyncWalksDownToTheLeaf()
    {
        auto writer = client();
        QVERIFY(writer);
        writer->send(opBatch({ lwwPut("1", "public", "key1", 1, 1700000000000, 0, "node-a"),
            lwwPut("2", "public", "key2", 2, 1700000000001, 3, "node-b"),
            lwwPut("3", "public", "key3", 3, 1700000000002, 0, "client-x") }));
        QVERIFY(writer->takeAck());

        auto reader = client();
        QVERIFY(reader);
        reader->send(QCborMap { { kType, QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("public") },
            { QStringLiteral("lastSyncTimestamp"), 0 } });
        const QCborMap root = payloadOf(reader->take(QStringLiteral("SYNC_RESP_ROOT")));
        QCOMPARE(root.value(QStringLiteral("rootHash")).toInteger(),
            2212673935LL); // docs/core.md vector

        QString path;
        for (;;) {
            reader->send(QCborMap { { kType, QStringLiteral("MERKLE_REQ_BUCKET") },
                { kPayload,
                    QCborMap { { QStringLiteral("mapName"), QStringLiteral("public") },
                        { QStringLiteral("path"), path } } } });
            QVERIFY(QTest::qWaitFor([&] {
                return reader->has(QStringLiteral("SYNC_RESP_BUCKETS"))
                    || reader->has(QStringLiteral("SYNC_RESP_LEAF"));
            }));
            if (const auto buckets = reader->take(QStringLiteral("SYNC_RESP_BUCKETS"), 0)) {
                const QCborMap b
                    = buckets->value(kPayload).toMap().value(QStringLiteral("buckets")).toMap();
                QVERIFY(!b.isEmpty());
                if (path.isEmpty())
                    QCOMPARE(b.value(QStringLiteral("3")).toInteger(), 2212673935LL);
                path += b.keys().first().toString();
                continue;
            }
            const QCborMap leaf = payloadOf(reader->take(QStringLiteral("SYNC_RESP_LEAF")));
            const QCborArray records = leaf.value(QStringLiteral("records")).toArray();
            QCOMPARE(records.size(), 1);
            QCOMPARE(path, QStringLiteral("374")); // hash("key1") = 374a6a67
            QCOMPARE(records.at(0).toMap().value(QStringLiteral("key")).toString(),
                QStringLiteral("key1"));
            break;
        }
    }

    void staleClientIsToldToReset()
    {
        auto reader = client();
        QVERIFY(reader);
        const qint64 old = QDateTime::currentMSecsSinceEpoch() - 32LL * 24 * 3600 * 1000;
        reader->send(QCborMap { { kType, QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("public") },
            { QStringLiteral("lastSyncTimestamp"), double(old) } });
        const QCborMap reset = payloadOf(reader->take(QStringLiteral("SYNC_RESET_REQUIRED")));
        QCOMPARE(reset.value(QStringLiteral("mapName")).toString(), QStringLiteral("public"));
        QVERIFY(!reader->has(QStringLiteral("SYNC_RESP_ROOT")));
    }

    void readDeniedSyncGetsError403()
    {
        auto reader = client();
        QVERIFY(reader);
        reader->send(QCborMap { { kType, QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("secret.plans") } });
        const QCborMap error = payloadOf(reader->take(QStringLiteral("ERROR")));
        QCOMPARE(error.value(QStringLiteral("code")).toInteger(), 403);
    }

    void querySeesEnterUpdateRemoveInOrder()
    {
        auto writer = client();
        auto watcher = client();
        QVERIFY(writer && watcher);
        writer->send(opBatch({ lwwPut("1", "people", "ann", person("Ann", 30), m_now),
            lwwPut("2", "people", "bob", person("Bob", 12), m_now) }));
        QVERIFY(writer->takeAck());

        const QCborMap query { { QStringLiteral("predicate"),
            QCborMap { { QStringLiteral("op"), QStringLiteral("gte") },
                { QStringLiteral("attribute"), QStringLiteral("age") },
                { QStringLiteral("value"), 18 } } } };
        watcher->send(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("q1") },
                    { QStringLiteral("mapName"), QStringLiteral("people") },
                    { QStringLiteral("query"), query } } } });
        const QCborMap resp = payloadOf(watcher->take(QStringLiteral("QUERY_RESP")));
        const QCborArray results = resp.value(QStringLiteral("results")).toArray();
        QCOMPARE(results.size(), 1);
        QCOMPARE(
            results.at(0).toMap().value(QStringLiteral("key")).toString(), QStringLiteral("ann"));

        writer->send(opBatch({ lwwPut("3", "people", "bob", person("Bob", 18), m_now + 1) }));
        writer->send(opBatch({ lwwPut("4", "people", "bob", person("Bob", 19), m_now + 2) }));
        writer->send(
            opBatch({ lwwPut("5", "people", "bob", QCborValue(QCborValue::Null), m_now + 3) }));
        QStringList changes;
        for (int i = 0; i < 3; ++i) {
            const QCborMap update = payloadOf(watcher->take(QStringLiteral("QUERY_UPDATE")));
            QCOMPARE(update.value(QStringLiteral("key")).toString(), QStringLiteral("bob"));
            changes << update.value(QStringLiteral("type")).toString();
        }
        QCOMPARE(changes, (QStringList { "ENTER", "UPDATE", "REMOVE" }));

        watcher->send(QCborMap { { kType, QStringLiteral("QUERY_UNSUB") },
            { kPayload, QCborMap { { QStringLiteral("queryId"), QStringLiteral("q1") } } } });
        watcher->send(QCborMap { { kType, QStringLiteral("PING") } });
        QVERIFY(watcher->take(QStringLiteral("PONG"))); // the server has handled QUERY_UNSUB
        writer->send(opBatch({ lwwPut("6", "people", "cid", person("Cid", 40), m_now + 4) }));
        QTRY_VERIFY(m_server->getMap(QStringLiteral("people"))->contains(QStringLiteral("cid")));
        // PONG is sent after everything queued for the watcher, so it is a barrier: once it is
        // here, an update for the ended query would be here too.
        watcher->send(QCborMap { { kType, QStringLiteral("PING") } });
        QVERIFY(watcher->take(QStringLiteral("PONG")));
        QVERIFY(!watcher->has(QStringLiteral("QUERY_UPDATE")));
        for (const QCborMap &message : watcher->inbox())
            QVERIFY(
                message.value(kPayload).toMap().value(QStringLiteral("key")).toString() != u"cid");
    }

    // A query that takes every value follows each key's liveness instead of a key set.
    void queryOfEveryValueFollowsLiveness()
    {
        auto writer = client();
        auto watcher = client();
        QVERIFY(writer && watcher);
        writer->send(opBatch({ lwwPut("1", "public.pets", "rex", person("Rex", 3), m_now),
            lwwPut("2", "public.pets", "old", QCborValue(QCborValue::Null), m_now) }));
        QVERIFY(writer->takeAck());

        watcher->send(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("all") },
                    { QStringLiteral("mapName"), QStringLiteral("public.pets") },
                    { QStringLiteral("query"), QCborMap() } } } });
        const QCborMap resp = payloadOf(watcher->take(QStringLiteral("QUERY_RESP")));
        QCOMPARE(resp.value(QStringLiteral("results")).toArray().size(), 1);

        const QCborValue tombstone(QCborValue::Null);
        writer->send(opBatch({ lwwPut("3", "public.pets", "tom", person("Tom", 1), m_now + 1) }));
        writer->send(opBatch({ lwwPut("4", "public.pets", "rex", person("Rex", 4), m_now + 2) }));
        writer->send(opBatch({ lwwPut("5", "public.pets", "rex", tombstone, m_now + 3) }));
        writer->send(opBatch({ lwwPut("6", "public.pets", "rex", tombstone, m_now + 4) }));
        writer->send(opBatch({ lwwPut("7", "public.pets", "old", tombstone, m_now + 5) }));
        writer->send(opBatch({ lwwPut("8", "public.pets", "rex", person("Rex", 5), m_now + 6) }));
        writer->send(opBatch({ lwwPut("9", "public.pets", "old", person("Old", 9), m_now + 7) }));
        QStringList changes;
        for (int i = 0; i < 5; ++i) {
            const QCborMap update = payloadOf(watcher->take(QStringLiteral("QUERY_UPDATE")));
            changes << update.value(QStringLiteral("key")).toString() + u':'
                    + update.value(QStringLiteral("type")).toString();
        }
        QCOMPARE(changes,
            (QStringList { "tom:ENTER", "rex:UPDATE", "rex:REMOVE", "rex:ENTER", "old:ENTER" }));
        watcher->send(QCborMap { { kType, QStringLiteral("PING") } });
        QVERIFY(watcher->take(QStringLiteral("PONG")));
        QVERIFY(!watcher->has(QStringLiteral("QUERY_UPDATE")));
    }

    void badQueryGetsError400()
    {
        auto watcher = client();
        QVERIFY(watcher);
        watcher->send(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("q") },
                    { QStringLiteral("mapName"), QStringLiteral("people") },
                    { QStringLiteral("query"),
                        QCborMap { { QStringLiteral("predicate"),
                            QCborMap {
                                { QStringLiteral("op"), QStringLiteral("nope") } } } } } } } });
        QCOMPARE(payloadOf(watcher->take(QStringLiteral("ERROR")))
                     .value(QStringLiteral("code"))
                     .toInteger(),
            400);
    }

    // A pattern that makes a backtracking engine take exponential time answers at once and does
    // not hold up anyone else.
    void catastrophicRegexDoesNotStallTheNode()
    {
        auto writer = client();
        auto watcher = client();
        auto bystander = client();
        QVERIFY(writer && watcher && bystander);
        QCborArray ops;
        const QString text = QString(28, u'a') + u'b';
        for (int i = 0; i < 100; ++i) {
            ops.append(lwwPut(QString::number(i + 1), "public.regex", QStringLiteral("k%1").arg(i),
                QCborMap { { QStringLiteral("s"), text } }, m_now));
        }
        writer->send(opBatch(ops));
        QVERIFY(writer->takeAck());

        QElapsedTimer timer;
        timer.start();
        watcher->send(querySub("q", "public.regex", "regex", "^(a+)+$"));
        bystander->send(QCborMap { { kType, QStringLiteral("PING") } });
        QVERIFY(bystander->take(QStringLiteral("PONG"), 2000));
        const qint64 pongMs = timer.elapsed();
        const QCborMap resp = payloadOf(watcher->take(QStringLiteral("QUERY_RESP"), 2000));
        qInfo("^(a+)+$ over 100 records: PONG after %lld ms, QUERY_RESP after %lld ms", pongMs,
            qint64(timer.elapsed()));
        QCOMPARE(resp.value(QStringLiteral("queryId")).toString(), QStringLiteral("q"));
        QCOMPARE(resp.value(QStringLiteral("results")).toArray().size(), 0);
        QVERIFY(timer.elapsed() < 2000);

        // Unanchored search: "ab$" finds the end of every record.
        watcher->send(querySub("q2", "public.regex", "regex", "ab$"));
        const QCborMap all = payloadOf(watcher->take(QStringLiteral("QUERY_RESP")));
        QCOMPARE(all.value(QStringLiteral("results")).toArray().size(), 100);
    }

    void unsupportedRegexIsRefusedAndNotSubscribed()
    {
        auto writer = client();
        auto watcher = client();
        QVERIFY(writer && watcher);
        watcher->send(querySub("q", "public.regex", "regex", "(a)\\1"));
        const QCborMap error = payloadOf(watcher->take(QStringLiteral("ERROR")));
        QCOMPARE(error.value(QStringLiteral("code")).toInteger(), 400);
        const QString message = error.value(QStringLiteral("message")).toString();
        QVERIFY2(
            message.contains(QStringLiteral("bad regex pattern '(a)\\1'")), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("invalid escape sequence")), qPrintable(message));
        QVERIFY(!watcher->has(QStringLiteral("QUERY_RESP")));

        writer->send(
            opBatch({ lwwPut("1", "public.regex", "aa", QCborMap { { "s", "aa" } }, m_now) }));
        QVERIFY(writer->takeAck());
        // PONG comes after anything queued for the watcher: no update can follow it.
        watcher->send(QCborMap { { kType, QStringLiteral("PING") } });
        QVERIFY(watcher->take(QStringLiteral("PONG")));
        QVERIFY(!watcher->has(QStringLiteral("QUERY_UPDATE")));
        QVERIFY(!watcher->has(QStringLiteral("QUERY_RESP")));
    }

    void orMapAddRemoveAndSync()
    {
        auto writer = client();
        auto listener = client();
        QVERIFY(writer && listener);
        listener->send(QCborMap { { kType, QStringLiteral("ORMAP_SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("rootHash"), 0 }, { QStringLiteral("bucketHashes"), QCborMap() } });
        QVERIFY(listener->take(QStringLiteral("ORMAP_SYNC_RESP_ROOT")));

        const QString tag = QStringLiteral("%1:0:client-a").arg(m_now);
        QCborMap add { { QStringLiteral("id"), QStringLiteral("1") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("key"), QStringLiteral("post-1") },
            { QStringLiteral("opType"), QStringLiteral("OR_ADD") },
            { QStringLiteral("orRecord"),
                protocol::orRecordToCbor(
                    { QStringLiteral("red"), { m_now, 0, "client-a" }, tag, std::nullopt }) } };
        writer->send(opBatch({ add }));
        QVERIFY(writer->takeAck());
        const QCborMap event = payloadOf(listener->take(QStringLiteral("SERVER_EVENT")));
        QCOMPARE(event.value(QStringLiteral("eventType")).toString(), QStringLiteral("OR_ADD"));
        crdt::OrMap *map = m_server->getOrMap(QStringLiteral("tags"));
        QVERIFY(map);
        QCOMPARE(map->get(QStringLiteral("post-1")), QList<QCborValue> { QStringLiteral("red") });

        // A late reader pulls the entry through ORMAP sync.
        auto reader = client();
        QVERIFY(reader);
        reader->send(QCborMap { { kType, QStringLiteral("ORMAP_SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("rootHash"), 0 }, { QStringLiteral("bucketHashes"), QCborMap() } });
        const QCborMap root = payloadOf(reader->take(QStringLiteral("ORMAP_SYNC_RESP_ROOT")));
        QCOMPARE(quint32(root.value(QStringLiteral("rootHash")).toInteger()),
            map->merkleTree().rootHash());
        reader->send(QCborMap { { kType, QStringLiteral("ORMAP_DIFF_REQUEST") },
            { kPayload,
                QCborMap { { QStringLiteral("mapName"), QStringLiteral("tags") },
                    { QStringLiteral("keys"), QCborArray { QStringLiteral("post-1") } } } } });
        const QCborMap diff = payloadOf(reader->take(QStringLiteral("ORMAP_DIFF_RESPONSE")));
        const QCborArray entries = diff.value(QStringLiteral("entries")).toArray();
        QCOMPARE(entries.size(), 1);
        QCOMPARE(entries.at(0).toMap().value(QStringLiteral("records")).toArray().size(), 1);

        QCborMap remove { { QStringLiteral("id"), QStringLiteral("2") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("key"), QStringLiteral("post-1") },
            { QStringLiteral("opType"), QStringLiteral("OR_REMOVE") },
            { QStringLiteral("orTag"), tag } };
        writer->send(opBatch({ remove }));
        QVERIFY(writer->takeAck());
        QCOMPARE(payloadOf(listener->take(QStringLiteral("SERVER_EVENT")))
                     .value(QStringLiteral("eventType"))
                     .toString(),
            QStringLiteral("OR_REMOVE"));
        QVERIFY(map->get(QStringLiteral("post-1")).isEmpty());
    }

    void readerRoleCannotWrite()
    {
        auto reader = client(QStringLiteral("reader-1"), { "READER" });
        QVERIFY(reader);
        reader->send(opBatch({ lwwPut("1", "public", "a", 1, m_now) }));
        QCOMPARE(payloadOf(reader->take(QStringLiteral("OP_REJECTED")))
                     .value(QStringLiteral("code"))
                     .toInteger(),
            403);
        QVERIFY(!m_server->getMap(QStringLiteral("public")));
        reader->send(QCborMap { { kType, QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("public") } });
        QVERIFY(reader->take(QStringLiteral("SYNC_RESP_ROOT")));
    }
};

QTEST_GUILESS_MAIN(tst_Operations)
#include "tst_operations.moc"

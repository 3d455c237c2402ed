#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

const QString kType = u"type"_s;
const QString kPayload = u"payload"_s;
// docs/protocol.md's BM25 vector: fields [title, body] of the map "articles".
constexpr double kScoreA = 1.8886581899209567;
constexpr double kScoreB = 0.6118390439885316;

QCborMap article(const QString &title, const QString &body)
{
    return QCborMap { { u"title"_s, title }, { u"body"_s, body } };
}

QCborMap payloadOf(const std::optional<QCborMap> &message)
{
    return message ? message->value(kPayload).toMap() : QCborMap();
}

QCborMap search(const QString &requestId, const QString &map, const QString &query,
    const QCborMap &options = {})
{
    QCborMap payload { { u"requestId"_s, requestId }, { u"mapName"_s, map },
        { u"query"_s, query } };
    if (!options.isEmpty())
        payload.insert(u"options"_s, options);
    return QCborMap { { kType, u"SEARCH"_s }, { kPayload, payload } };
}

QCborMap searchSub(
    const QString &id, const QString &map, const QString &query, const QCborMap &options = {})
{
    QCborMap payload { { u"subscriptionId"_s, id }, { u"mapName"_s, map }, { u"query"_s, query } };
    if (!options.isEmpty())
        payload.insert(u"options"_s, options);
    return QCborMap { { kType, u"SEARCH_SUB"_s }, { kPayload, payload } };
}

QStringList keysOf(const QCborMap &response)
{
    QStringList keys;
    for (const QCborValue &result : response.value(u"results"_s).toArray())
        keys << result.toMap().value(u"key"_s).toString();
    return keys;
}

double scoreAt(const QCborMap &response, qsizetype index)
{
    return response.value(u"results"_s).toArray().at(index).toMap().value(u"score"_s).toDouble();
}

} // namespace

class tst_Search : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    QList<RawClient *> m_clients;
    int m_nextOp = 1;

    ServerConfig config(const QString &storage = u"memory:"_s)
    {
        ServerConfig c = testConfig();
        c.storage = storage;
        c.fullTextSearch = u"articles:title+body secret:title"_s;
        c.policy = auth::SecurityPolicy({
            { u"USER"_s, u"articles"_s, auth::SecurityPolicy::kAllActions },
            { u"USER"_s, u"other"_s, auth::SecurityPolicy::kAllActions },
            { u"USER"_s, u"secret"_s, auth::SecurityPolicy::Action::Put },
        });
        return c;
    }

    RawClient *client()
    {
        auto *c = new RawClient(this);
        m_clients << c;
        if (!c->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret), 10000)) {
            return nullptr;
        }
        return c;
    }

    // Writes key = value (nil removes) to map and waits for the ack.
    bool write(RawClient &c, const QString &map, const QString &key, const QCborValue &value)
    {
        protocol::ClientOp op;
        op.id = QString::number(m_nextOp++);
        op.mapName = map;
        op.key = key;
        op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
        op.record = crdt::LwwRecord { value,
            { QDateTime::currentMSecsSinceEpoch(), m_nextOp, u"client"_s }, std::nullopt };
        c.send(QCborMap { { kType, u"OP_BATCH"_s },
            { kPayload, QCborMap { { u"ops"_s, QCborArray { op.toCbor() } } } } });
        // Acks of earlier writes may still be queued: this write's carries its id.
        while (const auto ack = c.take(u"OP_ACK"_s, 20000)) {
            if (payloadOf(ack).value(u"lastId"_s).toString() == *op.id)
                return true;
        }
        return false;
    }

    bool writeVectorArticles(RawClient &c)
    {
        return write(c, u"articles"_s, u"a"_s,
                   article(u"Machine learning basics"_s, u"An introduction to machine learning"_s))
            && write(c, u"articles"_s, u"b"_s,
                article(u"Deep learning"_s, u"Neural networks and deep learning"_s))
            && write(c, u"articles"_s, u"c"_s, article(u"Cooking"_s, u"How to cook pasta"_s));
    }

    // Every message c was sent before this returns has reached its inbox.
    static bool roundTrip(RawClient &c)
    {
        c.send(QCborMap { { kType, u"PING"_s }, { u"timestamp"_s, 1 } });
        return c.take(u"PONG"_s, 20000).has_value();
    }

    std::optional<QCborMap> respond(RawClient &c, const QCborMap &request)
    {
        c.send(request);
        return c.take(u"SEARCH_RESP"_s, 20000);
    }

private Q_SLOTS:
    void init()
    {
        m_nextOp = 1;
        m_server = startServer(config(), 20000);
        QVERIFY(m_server);
    }

    void cleanup()
    {
        qDeleteAll(m_clients);
        m_clients.clear();
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void searchRanksByBm25()
    {
        RawClient *c = client();
        QVERIFY(c);
        QVERIFY(writeVectorArticles(*c));
        const QCborMap response
            = payloadOf(respond(*c, search(u"r1"_s, u"articles"_s, u"machine learning"_s)));
        QCOMPARE(response.value(u"requestId"_s).toString(), u"r1"_s);
        QCOMPARE(keysOf(response), (QStringList { u"a"_s, u"b"_s }));
        QVERIFY(qFuzzyCompare(scoreAt(response, 0), kScoreA));
        QVERIFY(qFuzzyCompare(scoreAt(response, 1), kScoreB));
        QCOMPARE(response.value(u"totalCount"_s).toInteger(), 2);
        QVERIFY(!response.contains(u"error"_s));
        const QCborMap first = response.value(u"results"_s).toArray().at(0).toMap();
        QCOMPARE(first.value(u"value"_s).toMap(),
            article(u"Machine learning basics"_s, u"An introduction to machine learning"_s));
        QCOMPARE(
            first.value(u"matchedTerms"_s).toArray(), (QCborArray { u"machin"_s, u"learn"_s }));
    }

    void searchAppliesLimitMinScoreAndBoost()
    {
        RawClient *c = client();
        QVERIFY(c);
        QVERIFY(writeVectorArticles(*c));
        QCborMap response = payloadOf(respond(
            *c, search(u"r1"_s, u"articles"_s, u"machine learning"_s, { { u"limit"_s, 1 } })));
        QCOMPARE(keysOf(response), QStringList { u"a"_s });
        QCOMPARE(response.value(u"totalCount"_s).toInteger(), 2);

        response = payloadOf(respond(
            *c, search(u"r2"_s, u"articles"_s, u"machine learning"_s, { { u"minScore"_s, 1.0 } })));
        QCOMPARE(keysOf(response), QStringList { u"a"_s });
        QCOMPARE(response.value(u"totalCount"_s).toInteger(), 1);

        response = payloadOf(respond(*c,
            search(u"r3"_s, u"articles"_s, u"learning"_s,
                { { u"boost"_s, QCborMap { { u"title"_s, 2 } } } })));
        QCOMPARE(keysOf(response), (QStringList { u"b"_s, u"a"_s }));
        QVERIFY(qFuzzyCompare(scoreAt(response, 0), 1.3536104522277186));
        QVERIFY(qFuzzyCompare(scoreAt(response, 1), 1.2503870136537496));

        response = payloadOf(respond(*c, search(u"r4"_s, u"articles"_s, u"the of and"_s)));
        QVERIFY(keysOf(response).isEmpty());
        QCOMPARE(response.value(u"totalCount"_s).toInteger(), 0);
    }

    void subscriptionFollowsChanges()
    {
        RawClient *writer = client();
        RawClient *reader = client();
        QVERIFY(writer && reader);
        QVERIFY(writeVectorArticles(*writer));
        const QCborMap first
            = payloadOf(respond(*reader, searchSub(u"s1"_s, u"articles"_s, u"pasta"_s)));
        QCOMPARE(first.value(u"requestId"_s).toString(), u"s1"_s);
        QCOMPARE(keysOf(first), QStringList { u"c"_s });

        QVERIFY(
            write(*writer, u"articles"_s, u"d"_s, article(u"Pasta"_s, u"Fresh pasta at home"_s)));
        QCborMap update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"subscriptionId"_s).toString(), u"s1"_s);
        QCOMPARE(update.value(u"key"_s).toString(), u"d"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"ENTER"_s);
        QVERIFY(update.value(u"score"_s).toDouble() > 0);
        QCOMPARE(update.value(u"matchedTerms"_s).toArray(), QCborArray { u"pasta"_s });
        QCOMPARE(update.value(u"value"_s).toMap(), article(u"Pasta"_s, u"Fresh pasta at home"_s));

        QVERIFY(write(*writer, u"articles"_s, u"c"_s, article(u"Cooking"_s, u"Cook pasta well"_s)));
        update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"c"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"UPDATE"_s);
        QCOMPARE(update.value(u"value"_s).toMap(), article(u"Cooking"_s, u"Cook pasta well"_s));
        // The same value again changes neither value nor score: nothing to say.
        QVERIFY(write(*writer, u"articles"_s, u"c"_s, article(u"Cooking"_s, u"Cook pasta well"_s)));
        QVERIFY(roundTrip(*reader));
        QVERIFY(!reader->has(u"SEARCH_UPDATE"_s));

        QVERIFY(write(*writer, u"articles"_s, u"c"_s, article(u"Cooking"_s, u"Bake bread"_s)));
        update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"c"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"LEAVE"_s);
        QVERIFY(update.value(u"value"_s).isNull());
        QCOMPARE(update.value(u"score"_s).toDouble(), 0.0);
        QVERIFY(update.value(u"matchedTerms"_s).toArray().isEmpty());

        QVERIFY(write(*writer, u"articles"_s, u"d"_s, QCborValue(nullptr)));
        update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"d"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"LEAVE"_s);

        // A record that does not match is nobody's business.
        QVERIFY(write(*writer, u"articles"_s, u"e"_s, article(u"Gardening"_s, u"Roses"_s)));
        QVERIFY(roundTrip(*reader));
        QVERIFY(!reader->has(u"SEARCH_UPDATE"_s));
    }

    void subscriptionKeepsItsLimitWindow()
    {
        RawClient *writer = client();
        RawClient *reader = client();
        QVERIFY(writer && reader);
        QVERIFY(writeVectorArticles(*writer));
        const QCborMap first = payloadOf(
            respond(*reader, searchSub(u"s1"_s, u"articles"_s, u"pasta"_s, { { u"limit"_s, 1 } })));
        QCOMPARE(keysOf(first), QStringList { u"c"_s });

        // A better record pushes the member out: LEAVE, then ENTER. (Members keep the score
        // they were sent with, so a newcomer must beat c's score from the first answer.)
        QVERIFY(write(
            *writer, u"articles"_s, u"e"_s, article(u"Pasta pasta pasta pasta pasta"_s, u""_s)));
        QCborMap update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"c"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"LEAVE"_s);
        update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"e"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"ENTER"_s);

        // A worse one stays out.
        QVERIFY(write(*writer, u"articles"_s, u"f"_s,
            article(u"Italian food"_s, u"Risotto, pizza, pasta, gelato and much more besides"_s)));
        QVERIFY(roundTrip(*reader));
        QVERIFY(!reader->has(u"SEARCH_UPDATE"_s));

        // The member leaves: the best record outside enters.
        QVERIFY(write(*writer, u"articles"_s, u"e"_s, QCborValue(nullptr)));
        update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"e"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"LEAVE"_s);
        update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"c"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"ENTER"_s);
        QCOMPARE(update.value(u"value"_s).toMap().value(u"title"_s).toString(), u"Cooking"_s);
    }

    void subscriptionMinScore()
    {
        RawClient *writer = client();
        RawClient *reader = client();
        QVERIFY(writer && reader);
        QVERIFY(writeVectorArticles(*writer));
        const QCborMap first = payloadOf(respond(*reader,
            searchSub(u"s1"_s, u"articles"_s, u"machine learning"_s, { { u"minScore"_s, 1.0 } })));
        QCOMPARE(keysOf(first), QStringList { u"a"_s });
        // b gets "machine" too and passes the threshold now.
        QVERIFY(write(*writer, u"articles"_s, u"b"_s,
            article(u"Deep machine learning"_s, u"Neural networks and deep learning"_s)));
        const QCborMap update = payloadOf(reader->take(u"SEARCH_UPDATE"_s, 20000));
        QCOMPARE(update.value(u"key"_s).toString(), u"b"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"ENTER"_s);
        QVERIFY(update.value(u"score"_s).toDouble() >= 1.0);
    }

    void unsubscribeAndDisconnectEndSubscriptions()
    {
        RawClient *writer = client();
        RawClient *reader = client();
        RawClient *leaving = client();
        QVERIFY(writer && reader && leaving);
        QVERIFY(writeVectorArticles(*writer));
        QVERIFY(respond(*reader, searchSub(u"s1"_s, u"articles"_s, u"pasta"_s)));
        QVERIFY(respond(*leaving, searchSub(u"s2"_s, u"articles"_s, u"pasta"_s)));
        reader->send(QCborMap { { kType, u"SEARCH_UNSUB"_s },
            { kPayload, QCborMap { { u"subscriptionId"_s, u"s1"_s } } } });
        QVERIFY(roundTrip(*reader));
        leaving->close();
        QVERIFY(leaving->waitForDisconnected(20000));
        QTRY_COMPARE_WITH_TIMEOUT(m_server->connections().size(), 2, 20000);

        QVERIFY(write(*writer, u"articles"_s, u"d"_s, article(u"Pasta"_s, u"Pasta"_s)));
        QVERIFY(roundTrip(*reader));
        QVERIFY(!reader->has(u"SEARCH_UPDATE"_s));
        // The node still answers, and a new subscription gets what the old ones would have.
        const QCborMap again
            = payloadOf(respond(*reader, searchSub(u"s3"_s, u"articles"_s, u"pasta"_s)));
        QCOMPARE(keysOf(again), (QStringList { u"d"_s, u"c"_s }));
    }

    void refusesWithTypedErrors()
    {
        RawClient *c = client();
        QVERIFY(c);
        QVERIFY(write(*c, u"secret"_s, u"k"_s, QCborMap { { u"title"_s, u"classified pasta"_s } }));

        QCborMap response = payloadOf(respond(*c, search(u"r1"_s, u"secret"_s, u"pasta"_s)));
        QCOMPARE(response.value(u"error"_s).toString(), u"Access denied for map: secret"_s);
        QVERIFY(keysOf(response).isEmpty());
        QCOMPARE(response.value(u"totalCount"_s).toInteger(), 0);

        response = payloadOf(respond(*c, search(u"r2"_s, u"other"_s, u"pasta"_s)));
        QCOMPARE(response.value(u"requestId"_s).toString(), u"r2"_s);
        QCOMPARE(response.value(u"error"_s).toString(),
            u"Full-text search not enabled for map: other"_s);

        // A refused subscription is not held: the secret record's changes reach nobody.
        response = payloadOf(respond(*c, searchSub(u"s1"_s, u"secret"_s, u"pasta"_s)));
        QCOMPARE(response.value(u"requestId"_s).toString(), u"s1"_s);
        QCOMPARE(response.value(u"error"_s).toString(), u"Access denied for map: secret"_s);
        QVERIFY(write(*c, u"secret"_s, u"k2"_s, QCborMap { { u"title"_s, u"more pasta"_s } }));
        QVERIFY(roundTrip(*c));
        QVERIFY(!c->has(u"SEARCH_UPDATE"_s));
    }

    void refusesBadInput_data()
    {
        QTest::addColumn<QCborMap>("message");
        QTest::newRow("no query") << QCborMap { { kType, u"SEARCH"_s },
            { kPayload,
                QCborMap { { u"requestId"_s, u"r"_s }, { u"mapName"_s, u"articles"_s } } } };
        QTest::newRow("query not a string") << QCborMap { { kType, u"SEARCH"_s },
            { kPayload,
                QCborMap { { u"requestId"_s, u"r"_s }, { u"mapName"_s, u"articles"_s },
                    { u"query"_s, 5 } } } };
        QTest::newRow("negative limit")
            << search(u"r"_s, u"articles"_s, u"pasta"_s, { { u"limit"_s, -1 } });
        QTest::newRow("minScore not a number")
            << search(u"r"_s, u"articles"_s, u"pasta"_s, { { u"minScore"_s, u"high"_s } });
        QTest::newRow("boost not a map")
            << search(u"r"_s, u"articles"_s, u"pasta"_s, { { u"boost"_s, 2 } });
        QTest::newRow("subscription without id") << QCborMap { { kType, u"SEARCH_SUB"_s },
            { kPayload, QCborMap { { u"mapName"_s, u"articles"_s }, { u"query"_s, u"x"_s } } } };
        QTest::newRow("unsub without id")
            << QCborMap { { kType, u"SEARCH_UNSUB"_s }, { kPayload, QCborMap {} } };
    }

    void refusesBadInput()
    {
        QFETCH(QCborMap, message);
        RawClient *c = client();
        QVERIFY(c);
        c->send(message);
        const QCborMap error = payloadOf(c->take(u"ERROR"_s, 20000));
        QCOMPARE(error.value(u"code"_s).toInteger(), 400);
        QCOMPARE(error.value(u"message"_s).toString(), u"Invalid message format"_s);
        QVERIFY(roundTrip(*c));
        QVERIFY(!c->has(u"SEARCH_RESP"_s));
    }

    void subscriptionNeedsAuthentication()
    {
        RawClient c;
        QVERIFY(c.connectTo(m_server->port(), 20000));
        c.send(searchSub(u"s1"_s, u"articles"_s, u"pasta"_s));
        QVERIFY(c.waitForDisconnected(20000));
        QCOMPARE(c.closeCode(), 4001);
    }

    void syncEngineSearchesAndSubscribes()
    {
        RawClient *writer = client();
        QVERIFY(writer);
        QVERIFY(writeVectorArticles(*writer));
        client::SyncEngineConfig engineConfig;
        engineConfig.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_server->port()));
        client::SyncEngine engine(engineConfig);
        engine.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret)));
        QVERIFY(!engine.search(u"articles"_s, u"pasta"_s));
        engine.start();
        QTRY_COMPARE_WITH_TIMEOUT(engine.state(), client::SyncEngine::State::Connected, 20000);

        client::SearchHandle *once = engine.search(u"articles"_s, u"machine learning"_s,
            protocol::SearchOptions { 1, std::nullopt, std::nullopt });
        QVERIFY(once);
        QSignalSpy answered(once, &client::SearchHandle::resultsReceived);
        QVERIFY(answered.wait(20000));
        QCOMPARE(once->results().size(), 1);
        QCOMPARE(once->results().first().key, u"a"_s);
        QVERIFY(qFuzzyCompare(once->results().first().score, kScoreA));
        QCOMPARE(once->totalCount(), 2);

        client::SearchHandle *refused = engine.search(u"other"_s, u"pasta"_s);
        QSignalSpy refusedAnswer(refused, &client::SearchHandle::resultsReceived);
        QVERIFY(refusedAnswer.wait(20000));
        QCOMPARE(
            refused->error().value_or(QString()), u"Full-text search not enabled for map: other"_s);

        client::SearchHandle *live = engine.searchSubscribe(u"articles"_s, u"pasta"_s);
        QSignalSpy first(live, &client::SearchHandle::resultsReceived);
        QVERIFY(first.wait(20000));
        QCOMPARE(live->results().size(), 1);
        QSignalSpy changed(live, &client::SearchHandle::resultChanged);
        // Scored against today's corpus, it outranks c's score from the first answer.
        QVERIFY(write(
            *writer, u"articles"_s, u"d"_s, article(u"Pasta pasta pasta pasta"_s, u"Pasta"_s)));
        QTRY_COMPARE_WITH_TIMEOUT(live->results().size(), 2, 20000);
        QCOMPARE(live->results().first().key, u"d"_s);
        QVERIFY(write(*writer, u"articles"_s, u"c"_s, QCborValue(nullptr)));
        QTRY_COMPARE_WITH_TIMEOUT(live->results().size(), 1, 20000);
        QVERIFY(!live->result(u"c"_s));
        QCOMPARE(changed.size(), 2);
    }

    void followsChangesReplicatedFromPeers()
    {
        ClusterNodes nodes;
        const auto withSearch
            = [](ServerConfig &c) { c.fullTextSearch = u"articles:title+body"_s; };
        QVERIFY(nodes.start(u"node-a"_s, withSearch));
        QVERIFY(nodes.start(u"node-b"_s, withSearch));
        QVERIFY(QTest::qWaitFor([&] { return ClusterNodes::meshed(nodes.all()); }, 30000));

        const QByteArray token = TestTokens::userToken(kTestSecret);
        RawClient writer;
        RawClient reader;
        QVERIFY(writer.connectAndAuthenticate(nodes.node(0)->port(), token, 20000));
        QVERIFY(reader.connectAndAuthenticate(nodes.node(1)->port(), token, 20000));
        QVERIFY(respond(reader, searchSub(u"s1"_s, u"articles"_s, u"pasta"_s)));

        QVERIFY(
            write(writer, u"articles"_s, u"c"_s, article(u"Cooking"_s, u"How to cook pasta"_s)));
        const QCborMap update = payloadOf(reader.take(u"SEARCH_UPDATE"_s, 30000));
        QCOMPARE(update.value(u"key"_s).toString(), u"c"_s);
        QCOMPARE(update.value(u"type"_s).toString(), u"ENTER"_s);
        const QCborMap response
            = payloadOf(respond(reader, search(u"r1"_s, u"articles"_s, u"cook"_s)));
        QCOMPARE(keysOf(response), QStringList { u"c"_s });
    }

    void indexIsRebuiltFromStorage()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString storage = u"sqlite:"_s + dir.filePath(u"search.db"_s);
        QVERIFY(stopServer(*m_server));
        m_server = startServer(config(storage), 20000);
        QVERIFY(m_server);
        {
            RawClient *c = client();
            QVERIFY(c);
            QVERIFY(writeVectorArticles(*c));
            QVERIFY(write(*c, u"articles"_s, u"c"_s, QCborValue(nullptr)));
        }
        qDeleteAll(m_clients);
        m_clients.clear();
        QVERIFY(stopServer(*m_server));

        m_server = startServer(config(storage), 20000);
        QVERIFY(m_server);
        RawClient *c = client();
        QVERIFY(c);
        QCborMap response
            = payloadOf(respond(*c, search(u"r1"_s, u"articles"_s, u"machine learning"_s)));
        QCOMPARE(keysOf(response), (QStringList { u"a"_s, u"b"_s }));
        // c was removed before the restart: N = 2 now, so the scores differ from the vector's.
        QVERIFY(scoreAt(response, 0) > scoreAt(response, 1));
        response = payloadOf(respond(*c, search(u"r2"_s, u"articles"_s, u"pasta"_s)));
        QVERIFY(keysOf(response).isEmpty());
    }
};

QTEST_GUILESS_MAIN(tst_Search)
#include "tst_search.moc"

#include "ClusterNodes.h"
#include "RawClient.h"
#include "SlowWsClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "auth/SecurityPolicy.h"
#include "client/SyncEngine.h"

#include <QCborArray>
#include <QSignalSpy>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap topicMessage(const QString &type, const QCborValue &topic,
    const QCborValue &data = QCborValue(QCborValue::Undefined))
{
    QCborMap payload { { QStringLiteral("topic"), topic } };
    if (!data.isUndefined())
        payload.insert(QStringLiteral("data"), data);
    return QCborMap { { kType, type }, { kPayload, payload } };
}

QCborMap sub(const QCborValue &topic)
{
    return topicMessage(QStringLiteral("TOPIC_SUB"), topic);
}

QCborMap pub(const QCborValue &topic, const QCborValue &data)
{
    return topicMessage(QStringLiteral("TOPIC_PUB"), topic, data);
}

void verifyError(RawClient &client, int code, const QString &text)
{
    const QCborMap error = RawClient::payloadOf(client.take(QStringLiteral("ERROR"), 10000));
    QCOMPARE(error.value(QStringLiteral("code")).toInteger(), code);
    QCOMPARE(error.value(QStringLiteral("message")).toString(), text);
}

} // namespace

// Pub/sub topics (docs/protocol.md "Topics").
class tst_Topics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void publicationReachesEveryOtherSubscriberInOrder()
    {
        auto server = startServer();
        QVERIFY(server);
        auto a = RawClient::authenticated(server->port(), QStringLiteral("a"));
        auto b = RawClient::authenticated(server->port(), QStringLiteral("b"));
        auto c = RawClient::authenticated(server->port(), QStringLiteral("c"));
        QVERIFY(a && b && c);
        for (RawClient *client : { a.get(), b.get(), c.get() })
            client->send(sub(QStringLiteral("news/eu")));
        for (RawClient *client : { a.get(), b.get(), c.get() })
            QVERIFY(client->roundTrip());

        const QCborMap data { { QStringLiteral("headline"), QStringLiteral("hi") },
            { QStringLiteral("n"), QCborArray { 1, 2.5, QCborValue(nullptr) } } };
        b->send(pub(QStringLiteral("news/eu"), data));
        for (int i = 0; i < 20; ++i)
            b->send(pub(QStringLiteral("news/eu"), i));

        for (RawClient *client : { a.get(), c.get() }) {
            const QCborMap first
                = RawClient::payloadOf(client->take(QStringLiteral("TOPIC_MESSAGE"), 10000));
            QCOMPARE(first.value(QStringLiteral("topic")).toString(), QStringLiteral("news/eu"));
            QCOMPARE(first.value(QStringLiteral("data")).toMap(), data);
            QVERIFY(!first.value(QStringLiteral("publisherId")).toString().isEmpty());
            const QCborValue timestamp = first.value(QStringLiteral("timestamp"));
            QVERIFY(timestamp.isInteger() || timestamp.isDouble());
            QVERIFY(timestamp.toDouble() > 1.6e12);
            for (int i = 0; i < 20; ++i) {
                const QCborMap next
                    = RawClient::payloadOf(client->take(QStringLiteral("TOPIC_MESSAGE"), 10000));
                QCOMPARE(next.value(QStringLiteral("data")).toInteger(-1), i);
                QCOMPARE(next.value(QStringLiteral("publisherId")),
                    first.value(QStringLiteral("publisherId")));
            }
        }
        QVERIFY(b->roundTrip());
        QVERIFY(!b->has(QStringLiteral("TOPIC_MESSAGE")));
        QVERIFY(!b->has(QStringLiteral("ERROR")));
    }

    void unsubscribeAndDisconnectEndSubscriptions()
    {
        auto server = startServer();
        QVERIFY(server);
        auto publisher = RawClient::authenticated(server->port(), QStringLiteral("p"));
        auto leaving = RawClient::authenticated(server->port(), QStringLiteral("l"));
        auto staying = RawClient::authenticated(server->port(), QStringLiteral("s"));
        QVERIFY(publisher && leaving && staying);
        leaving->send(sub(QStringLiteral("t")));
        leaving->send(sub(QStringLiteral("t"))); // idempotent
        staying->send(sub(QStringLiteral("t")));
        QVERIFY(leaving->roundTrip() && staying->roundTrip());

        leaving->send(topicMessage(QStringLiteral("TOPIC_UNSUB"), QStringLiteral("t")));
        QVERIFY(leaving->roundTrip());
        publisher->send(pub(QStringLiteral("t"), 1));
        QCOMPARE(RawClient::payloadOf(staying->take(QStringLiteral("TOPIC_MESSAGE"), 10000))
                     .value(QStringLiteral("data"))
                     .toInteger(),
            1);
        QVERIFY(leaving->roundTrip());
        QVERIFY(!leaving->has(QStringLiteral("TOPIC_MESSAGE")));

        leaving->send(sub(QStringLiteral("t")));
        QVERIFY(leaving->roundTrip());
        leaving->close();
        QVERIFY(leaving->waitForDisconnected());
        QTRY_COMPARE_WITH_TIMEOUT(server->connections().size(), 2, 10000);
        publisher->send(pub(QStringLiteral("t"), 2));
        QCOMPARE(RawClient::payloadOf(staying->take(QStringLiteral("TOPIC_MESSAGE"), 10000))
                     .value(QStringLiteral("data"))
                     .toInteger(),
            2);
        QVERIFY(publisher->roundTrip());
        QVERIFY(!publisher->has(QStringLiteral("ERROR")));
    }

    void badInputGetsTheDocumentedError()
    {
        auto server = startServer();
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("x"));
        QVERIFY(client);
        const QString invalid = QStringLiteral("Invalid topic name");
        client->send(sub(QStringLiteral("has space")));
        verifyError(*client, 400, invalid);
        client->send(sub(QString()));
        verifyError(*client, 400, invalid);
        client->send(sub(QString(257, QLatin1Char('a'))));
        verifyError(*client, 400, invalid);
        client->send(pub(QStringLiteral("caf\u00e9"), 1));
        verifyError(*client, 400, invalid);
        client->send(sub(QString(256, QLatin1Char('a'))));
        client->send(sub(QStringLiteral("A-z_0.9:/x")));
        QVERIFY(client->roundTrip());
        QVERIFY(!client->has(QStringLiteral("ERROR")));

        client->send(sub(42));
        verifyError(*client, 400, QStringLiteral("Invalid message format"));
        client->send(QCborMap { { kType, QStringLiteral("TOPIC_PUB") } });
        verifyError(*client, 400, QStringLiteral("Invalid message format"));
        QVERIFY(client->isConnected());
    }

    void atMostAHundredTopicsPerConnection()
    {
        auto server = startServer();
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("x"));
        QVERIFY(client);
        for (int i = 0; i < 100; ++i)
            client->send(sub(QStringLiteral("t%1").arg(i)));
        client->send(sub(QStringLiteral("t7")));
        QVERIFY(client->roundTrip());
        QVERIFY(!client->has(QStringLiteral("ERROR")));
        client->send(sub(QStringLiteral("t100")));
        verifyError(*client, 400, QStringLiteral("Subscription limit reached"));
        client->send(topicMessage(QStringLiteral("TOPIC_UNSUB"), QStringLiteral("t0")));
        client->send(sub(QStringLiteral("t100")));
        QVERIFY(client->roundTrip());
        QVERIFY(!client->has(QStringLiteral("ERROR")));
    }

    void permissionsOnTopicNames()
    {
        ServerConfig config = testConfig();
        config.policy = auth::SecurityPolicy({
            { QStringLiteral("USER"), QStringLiteral("topic:public.*"),
                auth::SecurityPolicy::Action::Read | auth::SecurityPolicy::Action::Put },
            { QStringLiteral("READER"), QStringLiteral("topic:*"),
                auth::SecurityPolicy::Action::Read },
        });
        auto server = startServer(config);
        QVERIFY(server);
        auto user = RawClient::authenticated(server->port(), QStringLiteral("u"));
        auto reader = RawClient::authenticated(
            server->port(), QStringLiteral("r"), { QStringLiteral("READER") });
        QVERIFY(user && reader);

        user->send(sub(QStringLiteral("secret")));
        verifyError(*user, 403, QStringLiteral("Access Denied for topic secret"));
        reader->send(pub(QStringLiteral("public.news"), 1));
        verifyError(*reader, 403, QStringLiteral("Access Denied for topic public.news"));

        reader->send(sub(QStringLiteral("public.news")));
        QVERIFY(reader->roundTrip());
        user->send(pub(QStringLiteral("public.news"), 2));
        QCOMPARE(RawClient::payloadOf(reader->take(QStringLiteral("TOPIC_MESSAGE"), 10000))
                     .value(QStringLiteral("data"))
                     .toInteger(),
            2);
    }

    void slowSubscriberIsCutOffByTheOutboundBudget()
    {
        ServerConfig config = testConfig();
        config.outboundBudgetBytes = 256 * 1024;
        config.slowConsumerGraceMs = 200;
        auto server = startServer(config);
        QVERIFY(server);
        auto publisher = RawClient::authenticated(server->port(), QStringLiteral("p"));
        auto fast = RawClient::authenticated(server->port(), QStringLiteral("f"));
        QVERIFY(publisher && fast);
        SlowWsClient slow;
        QVERIFY(slow.connectAndAuthenticate(server->port(), TestTokens::userToken(kTestSecret)));
        slow.send(sub(QStringLiteral("firehose")));
        slow.send(
            QCborMap { { kType, QStringLiteral("PING") }, { QStringLiteral("timestamp"), 1 } });
        QVERIFY(slow.take(QStringLiteral("PONG"), 10000));
        slow.stopReading();
        fast->send(sub(QStringLiteral("firehose")));
        QVERIFY(fast->roundTrip());

        const QByteArray chunk(4096, 'x');
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (int i = 0; i < 50; ++i)
                    publisher->send(pub(QStringLiteral("firehose"), chunk));
                return publisher->roundTrip() && server->counters().slowConsumerDrops == 1;
            },
            30000));
        QTRY_COMPARE_WITH_TIMEOUT(server->connections().size(), 2, 10000);
        QVERIFY(publisher->isConnected() && fast->isConnected());
        const QCborMap got
            = RawClient::payloadOf(fast->take(QStringLiteral("TOPIC_MESSAGE"), 10000));
        QCOMPARE(got.value(QStringLiteral("data")).toByteArray(), chunk);
    }

    void syncEngineTopicHandles()
    {
        auto server = startServer();
        QVERIFY(server);
        client::SyncEngine listener(testEngineConfig(server->port(), QStringLiteral("listener")));
        client::SyncEngine publisher(testEngineConfig(server->port(), QStringLiteral("publisher")));
        listener.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "l")));
        publisher.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "p")));

        client::TopicHandle *inbox = listener.topic(QStringLiteral("chat"));
        QCOMPARE(listener.topic(QStringLiteral("chat")), inbox);
        inbox->subscribe();
        QSignalSpy received(inbox, &client::TopicHandle::messageReceived);

        // Published before the publisher is connected: queued, flushed after AUTH_ACK.
        client::TopicHandle *outbox = publisher.topic(QStringLiteral("chat"));
        outbox->publish(QStringLiteral("early"));
        QCOMPARE(outbox->queuedCount(), 1);

        listener.start();
        QTRY_COMPARE_WITH_TIMEOUT(listener.state(), client::SyncEngine::State::Connected, 10000);
        publisher.start();
        QTRY_COMPARE_WITH_TIMEOUT(received.size(), 1, 10000);
        QCOMPARE(received.at(0).at(0).value<QCborValue>().toString(), QStringLiteral("early"));
        QCOMPARE(outbox->queuedCount(), 0);

        outbox->publish(QCborMap { { QStringLiteral("k"), 1 } });
        QTRY_COMPARE_WITH_TIMEOUT(received.size(), 2, 10000);
        QCOMPARE(received.at(1).at(0).value<QCborValue>().toMap().value(QStringLiteral("k")), 1);
        QVERIFY(!received.at(1).at(1).toString().isEmpty());
        QVERIFY(received.at(1).at(2).toLongLong() > 0);
    }

    void clusterDeliversOnEveryMember()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(2));
        auto onA = RawClient::authenticated(cluster.node(0)->port(), QStringLiteral("a"));
        auto onB = RawClient::authenticated(cluster.node(1)->port(), QStringLiteral("b"));
        QVERIFY(onA && onB);
        onA->send(sub(QStringLiteral("room")));
        onB->send(sub(QStringLiteral("room")));
        QVERIFY(onA->roundTrip() && onB->roundTrip());
        onA->send(pub(QStringLiteral("room"), QStringLiteral("from A")));
        const QCborMap got
            = RawClient::payloadOf(onB->take(QStringLiteral("TOPIC_MESSAGE"), 10000));
        QCOMPARE(got.value(QStringLiteral("data")).toString(), QStringLiteral("from A"));
        QVERIFY(!got.value(QStringLiteral("publisherId")).toString().isEmpty());
        QVERIFY(onA->roundTrip());
        QVERIFY(!onA->has(QStringLiteral("TOPIC_MESSAGE")));
    }
};

QTEST_GUILESS_MAIN(tst_Topics)
#include "tst_topics.moc"

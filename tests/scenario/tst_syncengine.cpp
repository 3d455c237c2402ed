// SyncEngine end to end against an in-process Wingman node.
#include "ServerFixture.h"
#include "TestTokens.h"
#include "auth/SecurityPolicy.h"
#include "client/SqliteClientStorage.h"
#include "client/SyncEngine.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::client;
using namespace wingman::test;
using State = SyncEngine::State;

namespace {

// A loopback port nobody listens on (until a test starts the server there).
quint16 unusedPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

SyncEngineConfig clientConfig(const QUrl &url, const QString &nodeId)
{
    SyncEngineConfig config;
    config.url = url;
    config.nodeId = nodeId;
    config.reconnectBaseMs = 50;
    config.reconnectMaxMs = 500;
    config.authTimeoutMs = 3000;
    config.ackTimeoutMs = 2000;
    config.heartbeatIntervalMs = 500;
    config.heartbeatTimeoutMs = 5000;
    return config;
}

std::unique_ptr<SyncEngine> makeClient(SyncEngineConfig config,
    std::unique_ptr<ClientStorage> storage = {}, const QStringList &roles = { "USER" })
{
    const QString user = config.nodeId;
    auto engine = std::make_unique<SyncEngine>(std::move(config), std::move(storage));
    engine->setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, user, roles)));
    return engine;
}

bool waitConnected(SyncEngine &engine, int timeoutMs = 5000)
{
    return QTest::qWaitFor([&] { return engine.state() == State::Connected; }, timeoutMs);
}

// A key's live value; undefined when absent or deleted.
QCborValue valueIn(const crdt::LwwMap *map, const QString &key)
{
    const std::optional<QCborValue> value = map ? map->get(key) : std::nullopt;
    return value.value_or(QCborValue(QCborValue::Undefined));
}

QCborValue serverValue(ServerCoordinator &server, const QString &map, const QString &key)
{
    return valueIn(server.getMap(map), key);
}

QCborValue clientValue(SyncEngine &engine, const QString &map, const QString &key)
{
    return valueIn(engine.lwwMap(map), key);
}

} // namespace

class tst_SyncEngine : public QObject
{
    Q_OBJECT

    ServerFixture m_server;

private Q_SLOTS:
    void cleanup() { QVERIFY(m_server.stop()); }

    void connectsThroughEveryState()
    {
        QVERIFY(m_server.start());
        auto client = makeClient(clientConfig(m_server.url(), "client-a"));
        client->registerLwwMap("todos");
        QSignalSpy states(client.get(), &SyncEngine::stateChanged);
        QSignalSpy synced(client.get(), &SyncEngine::synced);
        QCOMPARE(client->state(), State::Initial);
        client->start();
        QVERIFY(waitConnected(*client));

        QList<State> sequence;
        for (const auto &args : states)
            sequence.append(args.first().value<State>());
        QCOMPARE(sequence,
            (QList<State> {
                State::Connecting, State::Authenticating, State::Syncing, State::Connected }));
        QCOMPARE(synced.count(), 1);
        QTRY_COMPARE(m_server->connections().size(), 1);
        QCOMPARE(m_server->connections().first().authState, auth::AuthState::Authenticated);
        QCOMPARE(m_server->connections().first().principal.userId, QStringLiteral("client-a"));
    }

    void twoClientsConverge()
    {
        QVERIFY(m_server.start());
        auto alice = makeClient(clientConfig(m_server.url(), "alice"));
        auto bob = makeClient(clientConfig(m_server.url(), "bob"));
        alice->registerLwwMap("todos");
        bob->registerLwwMap("todos");
        alice->start();
        bob->start();
        QVERIFY(waitConnected(*alice));
        QVERIFY(waitConnected(*bob));

        QSignalSpy aliceAcks(alice.get(), &SyncEngine::opAcknowledged);
        alice->put("todos", "milk", QCborMap { { "title", "buy milk" } });
        bob->put("todos", "bread", "buy bread");
        QTRY_COMPARE(
            clientValue(*bob, "todos", "milk"), QCborValue(QCborMap { { "title", "buy milk" } }));
        QTRY_COMPARE(clientValue(*alice, "todos", "bread"), QCborValue("buy bread"));
        QTRY_COMPARE(serverValue(m_server.node(), "todos", "milk"),
            QCborValue(QCborMap { { "title", "buy milk" } }));
        QCOMPARE(serverValue(m_server.node(), "todos", "bread"), QCborValue("buy bread"));
        QTRY_COMPARE(aliceAcks.count(), 1);
        QCOMPARE(alice->pendingOpCount(), 0);

        bob->remove("todos", "milk");
        QTRY_VERIFY(clientValue(*alice, "todos", "milk").isUndefined());
        QTRY_VERIFY(serverValue(m_server.node(), "todos", "milk").isUndefined());
        QTRY_COMPARE(bob->pendingOpCount(), 0);
    }

    void offlineWriterConvergesAfterReconnect()
    {
        // The writer starts while no server is reachable and writes; the server then comes up
        // on the port it kept trying.
        const quint16 port = unusedPort();
        QVERIFY(port != 0);
        auto writer = makeClient(clientConfig(loopbackUrl(port), "writer"));
        writer->registerLwwMap("notes");
        QSignalSpy states(writer.get(), &SyncEngine::stateChanged);
        writer->start();
        QTRY_VERIFY(states.count() >= 3); // Connecting, Backoff, Connecting, …
        QVERIFY(writer->state() != State::Connected);
        writer->put("notes", "offline-1", 1);
        writer->put("notes", "offline-2", QCborMap { { "nested", true } });
        writer->remove("notes", "offline-1");
        QCOMPARE(writer->pendingOpCount(), 3);

        ServerConfig config = testConfig();
        config.port = port;
        QVERIFY(m_server.start(config));
        QCOMPARE(m_server->port(), port);

        // A second client wrote while the first was away.
        auto reader = makeClient(clientConfig(m_server.url(), "reader"));
        reader->registerLwwMap("notes");
        reader->put("notes", "from-reader", "hello");
        reader->start();

        QVERIFY(waitConnected(*writer, 10000));
        QTRY_COMPARE(writer->pendingOpCount(), 0);
        QTRY_COMPARE(serverValue(m_server.node(), "notes", "offline-2"),
            QCborValue(QCborMap { { "nested", true } }));
        QVERIFY(m_server->getMap("notes")->contains("offline-1"));
        QVERIFY(serverValue(m_server.node(), "notes", "offline-1").isUndefined());
        QTRY_COMPARE(clientValue(*reader, "notes", "offline-2"),
            QCborValue(QCborMap { { "nested", true } }));
        QTRY_COMPARE(clientValue(*writer, "notes", "from-reader"), QCborValue("hello"));
        QVERIFY(clientValue(*reader, "notes", "offline-1").isUndefined());
    }

    void orMapsConverge()
    {
        QVERIFY(m_server.start());
        auto alice = makeClient(clientConfig(m_server.url(), "alice"));
        auto carol = makeClient(clientConfig(m_server.url(), "carol"));
        alice->registerOrMap("tags");
        carol->registerOrMap("tags");
        // Carol tags offline; her adds reach the server once she connects.
        carol->orAdd("tags", "post-1", "green");
        alice->start();
        QVERIFY(waitConnected(*alice));

        alice->orAdd("tags", "post-1", "red");
        alice->orAdd("tags", "post-1", "blue");
        QTRY_COMPARE(alice->pendingOpCount(), 0);
        carol->start();
        QVERIFY(waitConnected(*carol));

        const auto values = [](const crdt::OrMap *map) {
            QStringList list;
            if (map) {
                for (const QCborValue &value : map->get("post-1"))
                    list.append(value.toString());
            }
            list.sort();
            return list;
        };
        const QStringList all { "blue", "green", "red" };
        QTRY_COMPARE(values(carol->orMap("tags")), all);
        QTRY_COMPARE(values(alice->orMap("tags")), all);
        QTRY_COMPARE(values(m_server->getOrMap("tags")), all);

        // A remove observed by Carol reaches everyone; the other values stay.
        QCOMPARE(carol->orRemove("tags", "post-1", "red").size(), 1);
        const QStringList rest { "blue", "green" };
        QTRY_COMPARE(values(alice->orMap("tags")), rest);
        QTRY_COMPARE(values(m_server->getOrMap("tags")), rest);
        QTRY_COMPARE(carol->pendingOpCount(), 0);
        QCOMPARE(alice->orMap("tags")->merkleTree().rootHash(),
            m_server->getOrMap("tags")->merkleTree().rootHash());
    }

    void lwwTieBreakIsDeterministic_data()
    {
        QTest::addColumn<bool>("lowerFirst");
        QTest::newRow("a-node connects first") << true;
        QTest::newRow("B-node connects first") << false;
    }

    void lwwTieBreakIsDeterministic()
    {
        QFETCH(bool, lowerFirst);
        QVERIFY(m_server.start());
        // Both clocks read the same instant: both writes get (millis, 0) and only the node ids
        // differ. localeCompare puts "a-node" before "B-node" (byte order would not), so
        // B-node's write wins everywhere.
        const qint64 instant = crdt::Hlc::systemMillis() - 1000;
        SyncEngineConfig lowerConfig = clientConfig(m_server.url(), "a-node");
        lowerConfig.clock = [instant] { return instant; };
        SyncEngineConfig upperConfig = clientConfig(m_server.url(), "B-node");
        upperConfig.clock = [instant] { return instant; };
        auto lower = makeClient(lowerConfig);
        auto upper = makeClient(upperConfig);
        lower->registerLwwMap("tie");
        upper->registerLwwMap("tie");
        const auto lowerRecord = lower->put("tie", "shared", "from a-node");
        const auto upperRecord = upper->put("tie", "shared", "from B-node");
        QCOMPARE(lowerRecord->timestamp.millis, upperRecord->timestamp.millis);
        QCOMPARE(lowerRecord->timestamp.counter, upperRecord->timestamp.counter);
        QVERIFY(lowerRecord->timestamp < upperRecord->timestamp);

        SyncEngine &first = lowerFirst ? *lower : *upper;
        SyncEngine &second = lowerFirst ? *upper : *lower;
        first.start();
        QVERIFY(waitConnected(first));
        QTRY_COMPARE(first.pendingOpCount(), 0);
        second.start();
        QVERIFY(waitConnected(second));
        QTRY_COMPARE(second.pendingOpCount(), 0);

        const QCborValue winner("from B-node");
        QTRY_COMPARE(serverValue(m_server.node(), "tie", "shared"), winner);
        QTRY_COMPARE(clientValue(*lower, "tie", "shared"), winner);
        QTRY_COMPARE(clientValue(*upper, "tie", "shared"), winner);
        QVERIFY(m_server->getMap("tie")->getRecord("shared")->timestamp == upperRecord->timestamp);
    }

    void opLogSurvivesAnEngineRestart()
    {
        QVERIFY(m_server.start());
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("client.db");
        const QUrl deadUrl = loopbackUrl(unusedPort());
        {
            auto offline = makeClient(
                clientConfig(deadUrl, "restarter"), std::make_unique<SqliteClientStorage>(path));
            offline->registerLwwMap("todos");
            offline->start();
            for (int i = 1; i <= 3; ++i)
                offline->put("todos", QString("k%1").arg(i), i * 10);
            QCOMPARE(offline->pendingOpCount(), 3);
        }

        auto restarted = makeClient(
            clientConfig(m_server.url(), "restarter"), std::make_unique<SqliteClientStorage>(path));
        QCOMPARE(restarted->pendingOpCount(), 3);
        restarted->registerLwwMap("todos");
        QCOMPARE(clientValue(*restarted, "todos", "k2"), QCborValue(20));
        QSignalSpy acked(restarted.get(), &SyncEngine::opAcknowledged);
        restarted->start();
        QTRY_COMPARE(acked.count(), 3);
        QStringList ids;
        for (const auto &args : acked)
            ids.append(args.first().toString());
        ids.sort();
        QCOMPARE(ids, (QStringList { "1", "2", "3" }));
        for (int i = 1; i <= 3; ++i)
            QCOMPARE(
                serverValue(m_server.node(), "todos", QString("k%1").arg(i)), QCborValue(i * 10));
        // The next op continues the sequence.
        const auto next = restarted->put("todos", "k4", 40);
        QVERIFY(next);
        QTRY_COMPARE(acked.count(), 4);
        QCOMPARE(acked.last().first().toString(), QStringLiteral("4"));
        restarted.reset();

        SqliteClientStorage reopened(path);
        QVERIFY(reopened.open());
        QVERIFY(reopened.unsyncedOps().isEmpty());
        QCOMPARE(reopened.lwwRecords("todos").size(), 4);
        QVERIFY(reopened.lastSyncTimestamp("todos") > 0);
    }

    void querySeesEnterUpdateRemoveInOrder()
    {
        QVERIFY(m_server.start());
        auto watcher = makeClient(clientConfig(m_server.url(), "watcher"));
        auto writer = makeClient(clientConfig(m_server.url(), "writer"));
        writer->registerLwwMap("tasks");
        writer->put("tasks", "done-already", QCborMap { { "title", "old" }, { "done", true } });
        writer->put("tasks", "open-already", QCborMap { { "title", "older" }, { "done", false } });
        writer->start();
        QVERIFY(waitConnected(*writer));
        QTRY_COMPARE(writer->pendingOpCount(), 0);

        QString parseError;
        const auto openTasks = query::Query::fromCbor(
            QCborMap { { "where", QCborMap { { "done", false } } } }, &parseError);
        QVERIFY2(openTasks, qPrintable(parseError));
        QueryHandle *handle = watcher->subscribeQuery("tasks", *openTasks);
        QSignalSpy received(handle, &QueryHandle::resultsReceived);
        QSignalSpy changes(handle, &QueryHandle::resultChanged);
        watcher->start();
        QVERIFY(received.wait(5000));
        QCOMPARE(handle->results().size(), 1);
        QCOMPARE(handle->results().first().key, QStringLiteral("open-already"));

        writer->put("tasks", "t1", QCborMap { { "title", "write tests" }, { "done", false } });
        QTRY_COMPARE(changes.count(), 1);
        writer->put("tasks", "t1", QCborMap { { "title", "write more tests" }, { "done", false } });
        QTRY_COMPARE(changes.count(), 2);
        writer->put("tasks", "t1", QCborMap { { "title", "write more tests" }, { "done", true } });
        QTRY_COMPARE(changes.count(), 3);

        const QList<protocol::QueryChange> expected { protocol::QueryChange::Enter,
            protocol::QueryChange::Update, protocol::QueryChange::Remove };
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(changes.at(i).at(0).toString(), QStringLiteral("t1"));
            QCOMPARE(changes.at(i).at(2).value<protocol::QueryChange>(), expected.at(i));
        }
        QCOMPARE(changes.at(1).at(1).value<QCborValue>().toMap().value(QStringLiteral("title")),
            QCborValue("write more tests"));
        QCOMPARE(handle->results().size(), 1);
        QVERIFY(!handle->value("t1"));
    }

    void deniedWriteIsRejected()
    {
        ServerConfig config = testConfig();
        using Action = auth::SecurityPolicy::Action;
        config.policy = auth::SecurityPolicy({
            { "USER", "*", Action::Read },
            { "USER", "public.*", auth::SecurityPolicy::kAllActions },
        });
        QVERIFY(m_server.start(config));
        auto client = makeClient(clientConfig(m_server.url(), "mallory"));
        client->registerLwwMap("admin.settings");
        client->registerLwwMap("public.notes");
        QSignalSpy rejected(client.get(), &SyncEngine::opRejected);
        QSignalSpy acked(client.get(), &SyncEngine::opAcknowledged);
        client->start();
        QVERIFY(waitConnected(*client));

        const auto denied = client->put("admin.settings", "mode", "pwned");
        QVERIFY(denied);
        client->put("public.notes", "hello", "world");
        QVERIFY(rejected.wait(5000));
        QCOMPARE(rejected.count(), 1);
        QCOMPARE(rejected.first().at(0).toString(), QStringLiteral("1"));
        QTRY_COMPARE(acked.count(), 1);
        QCOMPARE(acked.first().first().toString(), QStringLiteral("2"));
        QCOMPARE(client->pendingOpCount(), 0);
        QVERIFY(client->storage().unsyncedOps().isEmpty());
        QVERIFY(serverValue(m_server.node(), "admin.settings", "mode").isUndefined());
        QCOMPARE(serverValue(m_server.node(), "public.notes", "hello"), QCborValue("world"));
    }

    void staleClientIsResetAndRebuilt()
    {
        QVERIFY(m_server.start());
        auto source = makeClient(clientConfig(m_server.url(), "source"));
        source->registerLwwMap("catalog");
        for (int i = 0; i < 20; ++i)
            source->put("catalog", QString("item-%1").arg(i), i);
        source->start();
        QTRY_COMPARE(source->pendingOpCount(), 0);

        // A client last in sync 32 days ago, beyond the 30-day GC horizon, holding a record
        // the server has long forgotten.
        const qint64 now = crdt::Hlc::systemMillis();
        const qint64 stale = now - 32LL * 24 * 60 * 60 * 1000;
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        auto storage = std::make_unique<SqliteClientStorage>(dir.filePath("stale.db"));
        QVERIFY(storage->open());
        storage->setLastSyncTimestamp("catalog", stale);
        storage->storeLwwRecord(
            "catalog", "ghost", { "forgotten", crdt::Timestamp { stale, 0, "old-node" }, {} });
        auto client = makeClient(clientConfig(m_server.url(), "sleeper"), std::move(storage));
        client->registerLwwMap("catalog");
        QCOMPARE(clientValue(*client, "catalog", "ghost"), QCborValue("forgotten"));
        QSignalSpy changed(client.get(), &SyncEngine::mapChanged);
        client->start();

        QTRY_VERIFY_WITH_TIMEOUT(client->isSynced("catalog"), 5000);
        QVERIFY(clientValue(*client, "catalog", "ghost").isUndefined());
        QVERIFY(!client->lwwMap("catalog")->contains("ghost"));
        QCOMPARE(client->lwwMap("catalog")->size(), 20);
        for (int i = 0; i < 20; ++i)
            QCOMPARE(clientValue(*client, "catalog", QString("item-%1").arg(i)), QCborValue(i));
        QCOMPARE(client->lwwMap("catalog")->merkleTree().rootHash(),
            m_server->getMap("catalog")->merkleTree().rootHash());
        QVERIFY(client->storage().lastSyncTimestamp("catalog") >= now);
        QVERIFY(!client->storage().lwwRecords("catalog").contains("ghost"));
        QCOMPARE(client->storage().lwwRecords("catalog").size(), 20);
        QVERIFY(std::any_of(changed.begin(), changed.end(), [](const QList<QVariant> &args) {
            return args.at(1).toString() == QStringLiteral("ghost");
        }));
    }
};

QTEST_GUILESS_MAIN(tst_SyncEngine)
#include "tst_syncengine.moc"

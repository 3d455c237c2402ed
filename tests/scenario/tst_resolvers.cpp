#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"
#include "storage/StorageUrl.h"

#include <QCborArray>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

QCborMap resolverDef(const QString &name, const QString &code,
    std::optional<int> priority = std::nullopt, std::optional<QString> keyPattern = std::nullopt)
{
    QCborMap map { { u"name"_s, name }, { u"code"_s, code } };
    if (priority)
        map.insert(u"priority"_s, *priority);
    if (keyPattern)
        map.insert(u"keyPattern"_s, *keyPattern);
    return map;
}

QCborMap lwwOp(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, u"client-a"_s }, std::nullopt };
    return op.toCbor();
}

QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { u"type"_s, u"OP_BATCH"_s },
        { u"payload"_s, QCborMap { { u"ops"_s, ops } } } };
}

// A resolver that refuses values flagged blocked and accepts the rest.
const QString kBlockCode = u"if (context.remoteValue && context.remoteValue.blocked) "
                           "return { action: 'reject', reason: 'blocked by policy' }; "
                           "return { action: 'accept' };"_s;

} // namespace

class tst_Resolvers : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    QTemporaryDir m_dir;

    ServerConfig config(const QString &storage = u"memory:"_s)
    {
        ServerConfig c = testConfig();
        c.storage = storage;
        c.policy = auth::SecurityPolicy({
            { u"USER"_s, u"public*"_s, auth::SecurityPolicy::kAllActions },
            { u"READER"_s, u"*"_s, auth::SecurityPolicy::Action::Read },
        });
        c.processorTimeoutMs = 200;
        return c;
    }

    std::unique_ptr<RawClient> client(
        const QString &user = u"user-1"_s, const QStringList &roles = { u"USER"_s })
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret, user, roles)))
            return nullptr;
        return c;
    }

    // REGISTER_RESOLVER (or UNREGISTER_RESOLVER); the response.
    QCborMap registerOn(RawClient &c, const QString &mapName, const QCborValue &def)
    {
        c.send(QCborMap { { u"type"_s, u"REGISTER_RESOLVER"_s }, { u"requestId"_s, u"reg"_s },
            { u"mapName"_s, mapName }, { u"resolver"_s, def } });
        return c.take(u"REGISTER_RESOLVER_RESPONSE"_s, 10000).value_or(QCborMap());
    }
    QCborMap unregisterFrom(RawClient &c, const QString &mapName, const QString &name)
    {
        c.send(QCborMap { { u"type"_s, u"UNREGISTER_RESOLVER"_s }, { u"requestId"_s, u"unreg"_s },
            { u"mapName"_s, mapName }, { u"resolverName"_s, name } });
        return c.take(u"UNREGISTER_RESOLVER_RESPONSE"_s, 10000).value_or(QCborMap());
    }
    QStringList list(RawClient &c, const std::optional<QString> &mapName = std::nullopt)
    {
        QCborMap request { { u"type"_s, u"LIST_RESOLVERS"_s }, { u"requestId"_s, u"list"_s } };
        if (mapName)
            request.insert(u"mapName"_s, *mapName);
        c.send(request);
        const auto reply = c.take(u"LIST_RESOLVERS_RESPONSE"_s, 10000);
        if (!reply)
            return { u"<no reply>"_s };
        QStringList names;
        for (const QCborValue &r : reply->value(u"resolvers"_s).toArray())
            names << r.toMap().value(u"mapName"_s).toString() + u'/'
                    + r.toMap().value(u"name"_s).toString();
        return names;
    }

    std::optional<QCborValue> stored(const QString &key, const QString &mapName = u"public"_s)
    {
        crdt::LwwMap *map = m_server->getMap(mapName);
        return map ? map->get(key) : std::nullopt;
    }

    // Sends one op in an OP_BATCH and returns its result entry from the acks.
    QCborMap write(RawClient &c, const QString &id, const QString &key, const QCborValue &value,
        qint64 millis = QDateTime::currentMSecsSinceEpoch())
    {
        c.send(opBatch({ lwwOp(id, u"public"_s, key, value, millis) }));
        for (int i = 0; i < 2; ++i) {
            const auto ack = c.take(u"OP_ACK"_s, 10000);
            if (!ack)
                return {};
            for (const QCborValue &r :
                ack->value(u"payload"_s).toMap().value(u"results"_s).toArray()) {
                if (r.toMap().value(u"opId"_s).toString() == id)
                    return r.toMap();
            }
        }
        return {};
    }

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_server = startServer(config());
        QVERIFY(m_server);
    }

    void cleanup()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void registerListUnregister()
    {
        auto c = client();
        QVERIFY(c);
        QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"r1"_s, u"return {action:'local'};"_s))
                    .value(u"success"_s)
                    .toBool());
        QVERIFY(registerOn(
            *c, u"public2"_s, resolverDef(u"r2"_s, u"return {action:'local'};"_s, 70, u"user:*"_s))
                    .value(u"success"_s)
                    .toBool());
        // Same name replaces.
        QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"r1"_s, u"return {action:'accept'};"_s))
                    .value(u"success"_s)
                    .toBool());
        QCOMPARE(list(*c, u"public"_s), (QStringList { u"public/r1"_s }));
        QCOMPARE(list(*c), (QStringList { u"public/r1"_s, u"public2/r2"_s }));
        c->send(QCborMap { { u"type"_s, u"LIST_RESOLVERS"_s }, { u"requestId"_s, u"l"_s },
            { u"mapName"_s, u"public2"_s } });
        const QCborMap info
            = c->take(u"LIST_RESOLVERS_RESPONSE"_s)->value(u"resolvers"_s).toArray().at(0).toMap();
        QCOMPARE(info.value(u"priority"_s).toInteger(), 70);
        QCOMPARE(info.value(u"keyPattern"_s).toString(), u"user:*"_s);
        QVERIFY(!info.contains(u"code"_s));

        QVERIFY(unregisterFrom(*c, u"public"_s, u"r1"_s).value(u"success"_s).toBool());
        const QCborMap again = unregisterFrom(*c, u"public"_s, u"r1"_s);
        QCOMPARE(again.value(u"success"_s).toBool(), false);
        QCOMPARE(again.value(u"error"_s).toString(),
            u"Resolver not found or not owned by this client"_s);
        QCOMPARE(list(*c), (QStringList { u"public2/r2"_s }));
    }

    void rejectKeepsTheStoredValue()
    {
        auto writer = client();
        auto watcher = client(u"user-2"_s);
        QVERIFY(writer && watcher);
        QVERIFY(registerOn(*writer, u"public"_s, resolverDef(u"block"_s, kBlockCode))
                    .value(u"success"_s)
                    .toBool());
        for (RawClient *c : { writer.get(), watcher.get() }) {
            c->send(QCborMap { { u"type"_s, u"SYNC_INIT"_s }, { u"mapName"_s, u"public"_s } });
            QVERIFY(c->take(u"SYNC_RESP_ROOT"_s, 10000));
        }
        const QCborMap ok = write(*writer, u"1"_s, u"doc"_s, QCborMap { { u"v"_s, 1 } });
        QVERIFY(ok.value(u"success"_s).toBool());
        QVERIFY(watcher->take(u"SERVER_EVENT"_s, 10000));

        const qint64 millis = QDateTime::currentMSecsSinceEpoch() + 5;
        const QCborMap refused = write(
            *writer, u"2"_s, u"doc"_s, QCborMap { { u"v"_s, 2 }, { u"blocked"_s, true } }, millis);
        QCOMPARE(refused.value(u"success"_s).toBool(), false);
        QCOMPARE(refused.value(u"error"_s).toString(), u"blocked by policy"_s);
        const auto rejected = writer->take(u"MERGE_REJECTED"_s, 10000);
        QVERIFY(rejected);
        QCOMPARE(rejected->value(u"mapName"_s).toString(), u"public"_s);
        QCOMPARE(rejected->value(u"key"_s).toString(), u"doc"_s);
        QCOMPARE(rejected->value(u"reason"_s).toString(), u"blocked by policy"_s);
        QCOMPARE(rejected->value(u"attemptedValue"_s).toMap().value(u"v"_s).toInteger(), 2);
        const QCborMap timestamp = rejected->value(u"timestamp"_s).toMap();
        QCOMPARE(timestamp.value(u"millis"_s).toInteger(), millis);
        QCOMPARE(timestamp.value(u"nodeId"_s).toString(), u"client-a"_s);
        QCOMPARE(stored(u"doc"_s).value_or(QCborValue()).toMap().value(u"v"_s).toInteger(), 1);
        // The stored value is re-asserted to everyone, the writer included.
        for (RawClient *c : { writer.get(), watcher.get() }) {
            const auto event = c->take(u"SERVER_EVENT"_s, 10000);
            QVERIFY(event);
            const QCborMap record = event->value(u"payload"_s).toMap().value(u"record"_s).toMap();
            QCOMPARE(record.value(u"value"_s).toMap().value(u"v"_s).toInteger(), 1);
            QVERIFY(record.value(u"timestamp"_s).toMap().value(u"millis"_s).toInteger() >= millis);
        }
    }

    void mergeStoresTheResolversValue()
    {
        auto c = client();
        QVERIFY(c);
        QVERIFY(registerOn(*c, u"public"_s,
            resolverDef(u"merge"_s,
                u"if (context.localValue === undefined) return { action: 'accept' }; "
                "return { action: 'merge', value: Object.assign({}, context.localValue, "
                "context.remoteValue, { merged: true, by: context.auth.userId }) };"_s))
                    .value(u"success"_s)
                    .toBool());
        c->send(QCborMap { { u"type"_s, u"SYNC_INIT"_s }, { u"mapName"_s, u"public"_s } });
        QVERIFY(c->take(u"SYNC_RESP_ROOT"_s, 10000));
        QVERIFY(write(*c, u"1"_s, u"m"_s, QCborMap { { u"a"_s, 1 } }).value(u"success"_s).toBool());
        QVERIFY(write(*c, u"2"_s, u"m"_s, QCborMap { { u"b"_s, 2 } }).value(u"success"_s).toBool());
        const QCborMap value = stored(u"m"_s).value_or(QCborValue()).toMap();
        QCOMPARE(value.value(u"a"_s).toInteger(), 1);
        QCOMPARE(value.value(u"b"_s).toInteger(), 2);
        QVERIFY(value.value(u"merged"_s).toBool());
        QCOMPARE(value.value(u"by"_s).toString(), u"user-1"_s);
        // The writer hears of the merged value.
        QVERIFY(QTest::qWaitFor(
            [&] {
                for (const QCborMap &m : c->inbox()) {
                    if (m.value(u"type"_s).toString() == u"SERVER_EVENT"_s
                        && m.value(u"payload"_s)
                               .toMap()
                               .value(u"record"_s)
                               .toMap()
                               .value(u"value"_s)
                               .toMap()
                               .value(u"merged"_s)
                               .toBool())
                        return true;
                }
                return false;
            },
            10000));
    }

    void chainOrderAndKeyPatterns()
    {
        auto c = client();
        QVERIFY(c);
        // Low priority: rejects everything. High priority, vip keys only: accepts.
        QVERIFY(registerOn(*c, u"public"_s,
            resolverDef(u"deny"_s, u"return { action: 'reject', reason: 'deny' };"_s, 10))
                    .value(u"success"_s)
                    .toBool());
        QVERIFY(registerOn(*c, u"public"_s,
            resolverDef(u"vip"_s, u"return { action: 'accept' };"_s, 90, u"vip:*"_s))
                    .value(u"success"_s)
                    .toBool());
        // Between them: ones that throw, loop or return junk hand over to the next.
        QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"thrower"_s, u"throw 'x';"_s, 50))
                    .value(u"success"_s)
                    .toBool());
        QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"junk"_s, u"return 42;"_s, 50))
                    .value(u"success"_s)
                    .toBool());
        QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"looper"_s, u"while (true) {}"_s, 40))
                    .value(u"success"_s)
                    .toBool());
        // The looper is stopped once, then skipped for a while: a later write does not wait
        // for it again.
        const QRegularExpression looperStopped(u"resolver looper on public stopped"_s);
        QTest::ignoreMessage(QtWarningMsg, looperStopped);
        QTest::failOnWarning(looperStopped);
        QVERIFY(write(*c, u"1"_s, u"vip:anna"_s, 1).value(u"success"_s).toBool());
        QCOMPARE(stored(u"vip:anna"_s), std::optional<QCborValue>(1));
        const QCborMap refused = write(*c, u"2"_s, u"vip"_s, 2);
        QCOMPARE(refused.value(u"success"_s).toBool(), false);
        QCOMPARE(refused.value(u"error"_s).toString(), u"deny"_s);
        QCOMPARE(stored(u"vip"_s), std::nullopt);
        QCOMPARE(write(*c, u"4"_s, u"plain"_s, 4).value(u"error"_s).toString(), u"deny"_s);
        // Without resolvers the map takes every write again.
        for (const QString &name : { u"deny"_s, u"vip"_s, u"thrower"_s, u"junk"_s, u"looper"_s })
            QVERIFY(unregisterFrom(*c, u"public"_s, name).value(u"success"_s).toBool());
        QVERIFY(write(*c, u"3"_s, u"vip"_s, 3).value(u"success"_s).toBool());
        QCOMPARE(stored(u"vip"_s), std::optional<QCborValue>(3));
    }

    void registrationIsChecked()
    {
        auto c = client();
        auto reader = client(u"reader"_s, { u"READER"_s });
        QVERIFY(c && reader);
        QCOMPARE(registerOn(*reader, u"public"_s, resolverDef(u"r"_s, kBlockCode))
                     .value(u"error"_s)
                     .toString(),
            u"Access Denied for map public"_s);
        QCOMPARE(
            registerOn(*c, u"public"_s, resolverDef(u"r"_s, u""_s)).value(u"error"_s).toString(),
            u"Resolver code required"_s);
        QCOMPARE(registerOn(*c, u"public"_s, resolverDef(u"r"_s, u"return eval('x');"_s))
                     .value(u"error"_s)
                     .toString(),
            u"Invalid resolver code: Forbidden pattern detected: \\beval\\b"_s);
        QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"r"_s, kBlockCode, 101))
                    .value(u"error"_s)
                    .toString()
                    .startsWith(u"Invalid resolver"_s));
        QVERIFY(registerOn(*c, u"public"_s, u"junk"_s)
                    .value(u"error"_s)
                    .toString()
                    .startsWith(u"Invalid resolver"_s));
        for (int i = 0; i < 100; ++i) {
            QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"r%1"_s.arg(i), kBlockCode))
                        .value(u"success"_s)
                        .toBool());
        }
        QCOMPARE(registerOn(*c, u"public"_s, resolverDef(u"r100"_s, kBlockCode))
                     .value(u"error"_s)
                     .toString(),
            u"Maximum resolvers per map (100) exceeded"_s);
        // The reader sees them (READ), may not remove them; nor may another user; an ADMIN may.
        QCOMPARE(list(*reader, u"public"_s).size(), 100);
        QCOMPARE(unregisterFrom(*reader, u"public"_s, u"r0"_s).value(u"error"_s).toString(),
            u"Access Denied for map public"_s);
        auto other = client(u"user-2"_s);
        QVERIFY(other);
        QCOMPARE(unregisterFrom(*other, u"public"_s, u"r0"_s).value(u"error"_s).toString(),
            u"Resolver not found or not owned by this client"_s);
        auto admin = client(u"boss"_s, { u"ADMIN"_s });
        QVERIFY(admin);
        QVERIFY(unregisterFrom(*admin, u"public"_s, u"r0"_s).value(u"success"_s).toBool());
        // Who may not read the map sees none of its resolvers.
        auto stranger = client(u"x"_s, { u"GUEST"_s });
        QVERIFY(stranger);
        QCOMPARE(list(*stranger), QStringList());
        QCOMPARE(list(*stranger, u"public"_s), QStringList());
    }

    // Runs statements on the test PostgreSQL server's own database.
    static bool postgresAdmin(const storage::StorageUrl &url, const QStringList &statements)
    {
        const QString name = u"tst_resolvers.admin"_s;
        bool ok = true;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QPSQL"_s, name);
            db.setHostName(url.host);
            db.setPort(url.port);
            db.setUserName(url.user);
            db.setPassword(url.password);
            db.setDatabaseName(url.database);
            ok = db.open();
            QSqlQuery query(db);
            for (const QString &statement : statements)
                ok = ok && query.exec(statement);
        }
        QSqlDatabase::removeDatabase(name);
        return ok;
    }

    void resolversOutliveRestarts_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("sqlite") << u"sqlite"_s;
        QTest::newRow("postgres") << u"postgres"_s;
    }

    void resolversOutliveRestarts()
    {
        QFETCH(QString, kind);
        QString storage = u"sqlite:"_s + m_dir.filePath(u"resolvers.db"_s);
        std::optional<storage::StorageUrl> admin;
        const QString database = u"wingman_resolvers_%1"_s.arg(QCoreApplication::applicationPid());
        if (kind == u"postgres"_s) {
            const QString url = qEnvironmentVariable("WINGMAN_TEST_POSTGRES_URL");
            if (url.isEmpty())
                QSKIP("WINGMAN_TEST_POSTGRES_URL is not set; run through scripts/with-postgres.sh");
            admin = storage::StorageUrl::parse(url);
            QVERIFY(admin);
            QVERIFY(postgresAdmin(*admin,
                { u"DROP DATABASE IF EXISTS %1"_s.arg(database),
                    u"CREATE DATABASE %1"_s.arg(database) }));
            storage = u"postgres://%1:%2@%3:%4/%5"_s.arg(admin->user, admin->password, admin->host)
                          .arg(admin->port)
                          .arg(database);
        }
        const auto dropDatabase = qScopeGuard([&] {
            if (admin) {
                if (m_server)
                    stopServer(*m_server);
                m_server.reset();
                postgresAdmin(*admin, { u"DROP DATABASE IF EXISTS %1"_s.arg(database) });
            }
        });
        QVERIFY(stopServer(*m_server));
        m_server = startServer(config(storage));
        QVERIFY(m_server);
        {
            auto c = client();
            QVERIFY(c);
            QVERIFY(registerOn(*c, u"public"_s, resolverDef(u"block"_s, kBlockCode, 60, u"d*"_s))
                        .value(u"success"_s)
                        .toBool());
            QVERIFY(registerOn(*c, u"public2"_s, resolverDef(u"other"_s, kBlockCode))
                        .value(u"success"_s)
                        .toBool());
            QVERIFY(unregisterFrom(*c, u"public2"_s, u"other"_s).value(u"success"_s).toBool());
        }
        QVERIFY(stopServer(*m_server));
        m_server = startServer(config(storage));
        QVERIFY(m_server);
        auto c = client();
        QVERIFY(c);
        QCOMPARE(list(*c), (QStringList { u"public/block"_s }));
        const QCborMap refused = write(*c, u"1"_s, u"doc"_s, QCborMap { { u"blocked"_s, true } });
        QCOMPARE(refused.value(u"error"_s).toString(), u"blocked by policy"_s);
        // The registering user still owns it after the restart.
        QVERIFY(unregisterFrom(*c, u"public"_s, u"block"_s).value(u"success"_s).toBool());
    }

    void syncEngineRegistersAndHearsRejections()
    {
        client::SyncEngineConfig config;
        config.url = QUrl(u"ws://127.0.0.1:%1/"_s.arg(m_server->port()));
        client::SyncEngine engine(config);
        engine.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret)));
        engine.registerLwwMap(u"public"_s);
        engine.start();
        QTRY_COMPARE_WITH_TIMEOUT(engine.state(), client::SyncEngine::State::Connected, 20000);
        QSignalSpy replies(&engine, &client::SyncEngine::resolverReply);
        const QString id
            = engine.registerResolver(u"public"_s, resolverDef(u"block"_s, kBlockCode));
        QVERIFY(replies.wait(10000));
        QCOMPARE(replies.first().at(0).toString(), id);
        QVERIFY(replies.first().at(1).toBool());

        QSignalSpy listed(&engine, &client::SyncEngine::resolversListed);
        engine.listResolvers(u"public"_s);
        QVERIFY(listed.wait(10000));
        const auto infos = listed.first().at(1).value<QList<protocol::ResolverInfo>>();
        QCOMPARE(infos.size(), 1);
        QCOMPARE(infos.first().name, u"block"_s);

        QSignalSpy rejections(&engine, &client::SyncEngine::mergeRejected);
        QSignalSpy refusedOps(&engine, &client::SyncEngine::opRejected);
        engine.put(u"public"_s, u"doc"_s, QCborMap { { u"blocked"_s, true } });
        QVERIFY(rejections.wait(10000));
        const auto rejection = rejections.first().at(0).value<protocol::MergeRejectedMessage>();
        QCOMPARE(rejection.reason, u"blocked by policy"_s);
        QTRY_VERIFY_WITH_TIMEOUT(!refusedOps.isEmpty(), 10000);
        QCOMPARE(stored(u"doc"_s), std::nullopt);
        // The re-asserted tombstone brings the client back to what the server holds.
        QTRY_COMPARE_WITH_TIMEOUT(
            engine.lwwMap(u"public"_s)->get(u"doc"_s), std::optional<QCborValue>(), 10000);
        engine.close();
    }
};

QTEST_GUILESS_MAIN(tst_Resolvers)
#include "tst_resolvers.moc"

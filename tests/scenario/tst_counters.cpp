#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "auth/SecurityPolicy.h"
#include "client/SyncEngine.h"
#include "storage/StorageUrl.h"

#include <QDateTime>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <limits>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap counterRequest(const QCborValue &name)
{
    return QCborMap { { kType, QStringLiteral("COUNTER_REQUEST") },
        { kPayload, QCborMap { { QStringLiteral("name"), name } } } };
}

QCborMap counterSync(const QCborValue &name, const QCborValue &state)
{
    return QCborMap { { kType, QStringLiteral("COUNTER_SYNC") },
        { kPayload,
            QCborMap { { QStringLiteral("name"), name }, { QStringLiteral("state"), state } } } };
}

QCborMap stateOf(RawClient &client, const QString &type, const QString &name)
{
    const QCborMap payload = RawClient::payloadOf(client.take(type, 10000));
    return payload.value(QStringLiteral("name")).toString() == name
        ? payload.value(QStringLiteral("state")).toMap()
        : QCborMap();
}

// The state as Wingman sends it: p and positive, n and negative, alike.
QCborMap wingmanState(const QCborMap &positive, const QCborMap &negative)
{
    return QCborMap { { QStringLiteral("p"), positive }, { QStringLiteral("n"), negative },
        { QStringLiteral("positive"), positive }, { QStringLiteral("negative"), negative } };
}

void verifyError(RawClient &client, int code, const QString &text)
{
    const QCborMap error = RawClient::payloadOf(client.take(QStringLiteral("ERROR"), 10000));
    QCOMPARE(error.value(QStringLiteral("code")).toInteger(), code);
    QVERIFY2(error.value(QStringLiteral("message")).toString().startsWith(text),
        qPrintable(error.value(QStringLiteral("message")).toString()));
}

// Runs statements on the test PostgreSQL server's database; false (with a warning) on failure.
bool postgresAdmin(const storage::StorageUrl &url, const QStringList &statements)
{
    const QString name = QStringLiteral("tst_counters.admin");
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
        db.setHostName(url.host);
        db.setPort(url.port);
        db.setUserName(url.user);
        db.setPassword(url.password);
        db.setDatabaseName(url.database);
        ok = db.open();
        if (!ok)
            qWarning("%s", qPrintable(db.lastError().text()));
        QSqlQuery query(db);
        for (const QString &statement : statements) {
            if (ok && !query.exec(statement)) {
                qWarning("%s: %s", qPrintable(statement), qPrintable(query.lastError().text()));
                ok = false;
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

} // namespace

// PN counters (docs/protocol.md "PN counters").
class tst_Counters : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void requestSubscribesAndSyncMergesForEveryone()
    {
        auto server = startServer();
        QVERIFY(server);
        auto watcher = RawClient::authenticated(server->port(), QStringLiteral("w"));
        auto writer = RawClient::authenticated(server->port(), QStringLiteral("x"));
        auto other = RawClient::authenticated(server->port(), QStringLiteral("o"));
        QVERIFY(watcher && writer && other);

        watcher->send(counterRequest(QStringLiteral("likes")));
        QCOMPARE(stateOf(*watcher, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("likes")),
            wingmanState({}, {}));

        // The TopGun client's key names, negative side missing.
        writer->send(counterSync(QStringLiteral("likes"),
            QCborMap { { QStringLiteral("positive"), QCborMap { { QStringLiteral("c1"), 5 } } } }));
        const QCborMap afterFirst = wingmanState(QCborMap { { QStringLiteral("c1"), 5 } }, {});
        QCOMPARE(stateOf(*writer, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("likes")),
            afterFirst);
        QCOMPARE(stateOf(*watcher, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("likes")),
            afterFirst);
        QVERIFY(other->roundTrip());
        QVERIFY(!other->has(QStringLiteral("COUNTER_UPDATE")));

        // TopGun's server names, an older count for c1: per-node maximum.
        other->send(counterSync(QStringLiteral("likes"),
            QCborMap { { QStringLiteral("p"),
                           QCborMap { { QStringLiteral("c1"), 3 }, { QStringLiteral("c2"), 2 } } },
                { QStringLiteral("n"), QCborMap { { QStringLiteral("c2"), 1.5 } } } }));
        const QCborMap merged
            = wingmanState(QCborMap { { QStringLiteral("c1"), 5 }, { QStringLiteral("c2"), 2 } },
                QCborMap { { QStringLiteral("c2"), 1.5 } });
        for (RawClient *client : { watcher.get(), writer.get(), other.get() })
            QCOMPARE(stateOf(*client, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("likes")),
                merged);

        // A subscriber that left is no longer sent anything; nothing else breaks.
        watcher->close();
        QVERIFY(watcher->waitForDisconnected());
        QTRY_COMPARE_WITH_TIMEOUT(server->connections().size(), 2, 10000);
        writer->send(counterSync(QStringLiteral("likes"),
            QCborMap { { QStringLiteral("p"), QCborMap { { QStringLiteral("c1"), 6 } } } }));
        QVERIFY(
            !stateOf(*other, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("likes")).isEmpty());

        auto late = RawClient::authenticated(server->port(), QStringLiteral("l"));
        QVERIFY(late);
        late->send(counterRequest(QStringLiteral("likes")));
        QCOMPARE(stateOf(*late, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("likes")),
            wingmanState(QCborMap { { QStringLiteral("c1"), 6 }, { QStringLiteral("c2"), 2 } },
                QCborMap { { QStringLiteral("c2"), 1.5 } }));
    }

    void badInputGetsTheDocumentedError()
    {
        auto server = startServer();
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("x"));
        QVERIFY(client);
        const QString invalidState = QStringLiteral("Invalid counter state");
        client->send(counterSync(QStringLiteral("c"),
            QCborMap { { QStringLiteral("p"), QCborMap { { QStringLiteral("a"), -1 } } } }));
        verifyError(*client, 400, invalidState);
        client->send(counterSync(QStringLiteral("c"),
            QCborMap { { QStringLiteral("n"),
                QCborMap { { QStringLiteral("a"), std::numeric_limits<double>::infinity() } } } }));
        verifyError(*client, 400, invalidState);
        client->send(counterSync(QStringLiteral("c"),
            QCborMap { { QStringLiteral("positive"),
                QCborMap { { QStringLiteral("a"), std::nan("") } } } }));
        verifyError(*client, 400, invalidState);
        client->send(counterSync(QStringLiteral("c"),
            QCborMap { { QStringLiteral("p"),
                QCborMap { { QStringLiteral("a"), QStringLiteral("3") } } } }));
        verifyError(*client, 400, invalidState);
        client->send(counterSync(QStringLiteral("c"), QCborMap { { QStringLiteral("p"), 3 } }));
        verifyError(*client, 400, invalidState);
        client->send(counterSync(QStringLiteral("c"), 3));
        verifyError(*client, 400, QStringLiteral("Invalid message format"));
        client->send(counterRequest(12));
        verifyError(*client, 400, QStringLiteral("Invalid message format"));
        client->send(counterRequest(QString()));
        verifyError(*client, 400, QStringLiteral("Invalid counter name"));

        // Nothing was counted.
        client->send(counterRequest(QStringLiteral("c")));
        QCOMPARE(stateOf(*client, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("c")),
            wingmanState({}, {}));
        QVERIFY(!client->has(QStringLiteral("COUNTER_UPDATE")));
    }

    void permissionsOnCounterNames()
    {
        ServerConfig config = testConfig();
        config.policy = auth::SecurityPolicy({
            { QStringLiteral("USER"), QStringLiteral("counter:*"),
                auth::SecurityPolicy::Action::Read },
            { QStringLiteral("USER"), QStringLiteral("counter:mine"),
                auth::SecurityPolicy::Action::Put },
        });
        auto server = startServer(config);
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
        auto guest = RawClient::authenticated(
            server->port(), QStringLiteral("g"), { QStringLiteral("GUEST") });
        QVERIFY(client && guest);
        guest->send(counterRequest(QStringLiteral("mine")));
        verifyError(*guest, 403, QStringLiteral("Access Denied for counter mine"));
        client->send(counterSync(QStringLiteral("theirs"),
            QCborMap { { QStringLiteral("p"), QCborMap { { QStringLiteral("a"), 1 } } } }));
        verifyError(*client, 403, QStringLiteral("Access Denied for counter theirs"));
        client->send(counterRequest(QStringLiteral("theirs")));
        QCOMPARE(stateOf(*client, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("theirs")),
            wingmanState({}, {}));
        client->send(counterSync(QStringLiteral("mine"),
            QCborMap { { QStringLiteral("p"), QCborMap { { QStringLiteral("a"), 1 } } } }));
        QVERIFY(
            !stateOf(*client, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("mine")).isEmpty());
    }

    void countsOutliveRestarts()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        ServerConfig config = testConfig();
        config.storage = QStringLiteral("sqlite:") + dir.filePath(QStringLiteral("counters.db"));
        const QCborMap state
            = wingmanState(QCborMap { { QStringLiteral("a"), 7 }, { QStringLiteral("b"), 2 } },
                QCborMap { { QStringLiteral("a"), 1 } });
        {
            auto server = startServer(config);
            QVERIFY(server);
            auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
            QVERIFY(client);
            client->send(counterSync(QStringLiteral("visits"), state));
            QCOMPARE(stateOf(*client, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("visits")),
                state);
            QVERIFY(stopServer(*server));
        }
        auto server = startServer(config);
        QVERIFY(server);
        auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
        QVERIFY(client);
        client->send(counterRequest(QStringLiteral("visits")));
        QCOMPARE(
            stateOf(*client, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("visits")), state);
    }

    void countsOutlivePostgresRestarts()
    {
        const QString text = qEnvironmentVariable("WINGMAN_TEST_POSTGRES_URL");
        if (text.isEmpty())
            QSKIP("WINGMAN_TEST_POSTGRES_URL is not set; run under scripts/with-postgres.sh");
        QString why;
        const std::optional<storage::StorageUrl> url = storage::StorageUrl::parse(text, &why);
        QVERIFY2(url, qPrintable(why));
        const QString database
            = QStringLiteral("tst_counters_%1").arg(QDateTime::currentMSecsSinceEpoch());
        QVERIFY(postgresAdmin(*url, { QStringLiteral("CREATE DATABASE %1").arg(database) }));
        QUrl own(text);
        own.setPath(QLatin1Char('/') + database);
        ServerConfig config = testConfig();
        config.storage = own.toString(QUrl::FullyEncoded);
        const QCborMap state = wingmanState(QCborMap { { QStringLiteral("a"), 4 } }, {});
        {
            auto server = startServer(config);
            QVERIFY(server);
            auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
            QVERIFY(client);
            client->send(counterSync(QStringLiteral("visits"), state));
            QCOMPARE(stateOf(*client, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("visits")),
                state);
            QVERIFY(stopServer(*server));
        }
        {
            auto server = startServer(config);
            QVERIFY(server);
            auto client = RawClient::authenticated(server->port(), QStringLiteral("u"));
            QVERIFY(client);
            client->send(counterRequest(QStringLiteral("visits")));
            QCOMPARE(stateOf(*client, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("visits")),
                state);
            QVERIFY(stopServer(*server));
        }
        QVERIFY(postgresAdmin(
            *url, { QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)").arg(database) }));
    }

    void syncEngineCounterHandles()
    {
        auto server = startServer();
        QVERIFY(server);
        client::SyncEngine first(testEngineConfig(server->port(), QStringLiteral("first")));
        client::SyncEngine second(testEngineConfig(server->port(), QStringLiteral("second")));
        first.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "f")));
        second.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "s")));
        first.start();
        second.start();
        QTRY_COMPARE_WITH_TIMEOUT(first.state(), client::SyncEngine::State::Connected, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(second.state(), client::SyncEngine::State::Connected, 10000);

        client::CounterHandle *mine = first.counter(QStringLiteral("stars"));
        client::CounterHandle *theirs = second.counter(QStringLiteral("stars"));
        QCOMPARE(first.counter(QStringLiteral("stars")), mine);
        mine->increment(5);
        mine->decrement(2);
        QCOMPARE(mine->value(), 3);
        QTRY_COMPARE_WITH_TIMEOUT(theirs->value(), 3, 10000);
        theirs->increment();
        QTRY_COMPARE_WITH_TIMEOUT(mine->value(), 4, 10000);
        QCOMPARE(theirs->value(), 4);
    }

    void clusterMembersConverge()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(2));
        auto onA = RawClient::authenticated(cluster.node(0)->port(), QStringLiteral("a"));
        auto onB = RawClient::authenticated(cluster.node(1)->port(), QStringLiteral("b"));
        QVERIFY(onA && onB);
        onB->send(counterRequest(QStringLiteral("hits")));
        QCOMPARE(stateOf(*onB, QStringLiteral("COUNTER_RESPONSE"), QStringLiteral("hits")),
            wingmanState({}, {}));
        onA->send(counterSync(QStringLiteral("hits"),
            QCborMap { { QStringLiteral("p"), QCborMap { { QStringLiteral("ca"), 2 } } } }));
        const QCborMap onlyA = wingmanState(QCborMap { { QStringLiteral("ca"), 2 } }, {});
        QCOMPARE(stateOf(*onA, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("hits")), onlyA);
        QCOMPARE(stateOf(*onB, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("hits")), onlyA);
        onB->send(counterSync(QStringLiteral("hits"),
            QCborMap { { QStringLiteral("p"), QCborMap { { QStringLiteral("cb"), 3 } } } }));
        const QCborMap both = wingmanState(
            QCborMap { { QStringLiteral("ca"), 2 }, { QStringLiteral("cb"), 3 } }, {});
        QCOMPARE(stateOf(*onA, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("hits")), both);
        QCOMPARE(stateOf(*onB, QStringLiteral("COUNTER_UPDATE"), QStringLiteral("hits")), both);
    }
};

QTEST_GUILESS_MAIN(tst_Counters)
#include "tst_counters.moc"

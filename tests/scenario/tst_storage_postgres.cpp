#include "StorageScenarios.h"

#include "storage/PostgresStorage.h"
#include "storage/StorageUrl.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTcpServer>

using namespace wingman;
using namespace wingman::test;
using namespace wingman::test::storage_scenarios;
using storage::StorageUrl;

// Needs a PostgreSQL server: WINGMAN_TEST_POSTGRES_URL, a role that may create databases (each
// test gets a fresh one). scripts/with-postgres.sh starts a throwaway server and sets it.
#define REQUIRE_POSTGRES()                                                                         \
    do {                                                                                           \
        if (!m_url)                                                                                \
            QSKIP(qPrintable(m_skipReason));                                                       \
    } while (false)

class tst_StoragePostgres : public QObject
{
    Q_OBJECT

    std::optional<StorageUrl> m_url;
    QString m_skipReason;
    QStringList m_databases;

    // Runs statements on the server's administrative database (the URL's own).
    bool admin(const QStringList &statements, const QString &database = {})
    {
        const QString name = QStringLiteral("tst_storage_postgres.admin");
        bool ok = true;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
            db.setHostName(m_url->host);
            db.setPort(m_url->port);
            db.setUserName(m_url->user);
            db.setPassword(m_url->password);
            db.setDatabaseName(database.isEmpty() ? m_url->database : database);
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

    // A fresh, empty database for one test, dropped in cleanup(); its URL.
    QString freshDatabase()
    {
        const QString name = QStringLiteral("wingman_test_%1_%2")
                                 .arg(QCoreApplication::applicationPid())
                                 .arg(m_databases.size());
        if (!admin({ QStringLiteral("CREATE DATABASE %1").arg(name) }))
            return {};
        m_databases.append(name);
        return urlFor(name, m_url->password);
    }

    QString urlFor(const QString &database, const QString &password, quint16 port = 0) const
    {
        return QStringLiteral("postgres://%1:%2@%3:%4/%5")
            .arg(m_url->user, password, m_url->host)
            .arg(port ? port : m_url->port)
            .arg(database);
    }

    static std::unique_ptr<storage::PostgresStorage> openAt(
        const QString &url, QString *reason = nullptr)
    {
        auto storage = std::make_unique<storage::PostgresStorage>(*StorageUrl::parse(url));
        QSignalSpy opened(storage.get(), &storage::Storage::opened);
        QSignalSpy failed(storage.get(), &storage::Storage::failed);
        storage->open();
        if (!QTest::qWaitFor([&] { return !opened.isEmpty() || !failed.isEmpty(); }, 20000))
            return nullptr;
        if (!failed.isEmpty()) {
            if (reason)
                *reason = failed.first().first().toString();
            return nullptr;
        }
        return storage;
    }

private Q_SLOTS:
    void initTestCase()
    {
        const QString url = qEnvironmentVariable("WINGMAN_TEST_POSTGRES_URL");
        if (url.isEmpty()) {
            const QString why = qEnvironmentVariable("WINGMAN_TEST_POSTGRES_UNAVAILABLE");
            m_skipReason = why.isEmpty()
                ? QStringLiteral("WINGMAN_TEST_POSTGRES_URL is not set; run the "
                                 "tests through scripts/with-postgres.sh")
                : QStringLiteral("PostgreSQL could not be started: %1").arg(why);
            qInfo("%s", qPrintable(m_skipReason));
            return;
        }
        QString error;
        m_url = StorageUrl::parse(url, &error);
        QVERIFY2(m_url, qPrintable(error));
        QVERIFY2(admin({ QStringLiteral("SELECT 1") }), "cannot reach the test PostgreSQL server");
    }

    void cleanupTestCase()
    {
        if (m_url && !m_databases.isEmpty()) {
            QStringList drops;
            for (const QString &name : std::as_const(m_databases))
                drops.append(QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)").arg(name));
            admin(drops);
        }
    }

    void urlParsing_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<QString>("location");
        QTest::newRow("full") << "postgres://u:p@db.example:6543/app" << true
                              << "db.example:6543/app";
        QTest::newRow("default port")
            << "postgresql://u@localhost/app" << true << "localhost:5432/app";
        QTest::newRow("escaped password") << "postgres://u:p%40ss@h:1/app" << true << "h:1/app";
        QTest::newRow("no database") << "postgres://u:p@h:5432" << false << "";
        QTest::newRow("port 0") << "postgres://u:p@h:0/app" << false << "";
        QTest::newRow("other scheme") << "mysql://u:p@h/app" << false << "";
    }

    void urlParsing()
    {
        QFETCH(QString, text);
        QFETCH(bool, valid);
        QFETCH(QString, location);
        QString error;
        const auto url = StorageUrl::parse(text, &error);
        QCOMPARE(bool(url), valid);
        if (!valid) {
            QVERIFY(!error.isEmpty());
            QVERIFY(!error.contains(QStringLiteral(":p@")));
            return;
        }
        QCOMPARE(url->kind, StorageUrl::Kind::Postgres);
        QCOMPARE(url->postgresLocation(), location);
        if (text.contains(QStringLiteral("p%40ss")))
            QCOMPARE(url->password, QStringLiteral("p@ss"));
        QVERIFY(!StorageUrl::redacted(text).contains(QStringLiteral(":p@")));
    }

    void restartKeepsLwwOrTombstonesAndTtl()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        restartKeepsEverything(url);
    }

    void nodeIdIsKeptWithTheData()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        nodeIdIsKeptWithStorage(url);
    }

    void crashKeepsEveryAcknowledgedOp()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        crashKeepsAcknowledgedOps(url, crashSeed());
    }

    void groupCommitKeepsOrderAndLastWriteWins()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        auto storage = openAt(url);
        QVERIFY(storage);
        QList<int> order;
        for (int i = 0; i < 200; ++i) {
            QList<storage::StorageWrite> writes;
            for (int j = 0; j < 20; ++j) {
                storage::StorageWrite write;
                write.mapName = QStringLiteral("m");
                write.key = QStringLiteral("k%1").arg(j); // every call rewrites the same rows
                write.lww
                    = crdt::LwwRecord { i, { 1000 + i, 0, QStringLiteral("n") }, std::nullopt };
                writes.append(write);
            }
            storage->write(writes, [&order, i](const QString &error) {
                if (error.isEmpty())
                    order.append(i);
            });
        }
        QTRY_COMPARE_WITH_TIMEOUT(order.size(), 200, 30000);
        QVERIFY(std::is_sorted(order.cbegin(), order.cend()));
        storage->close();

        storage = openAt(url);
        QVERIFY(storage);
        const auto maps = storage->loadAll();
        QCOMPARE(maps.value("m").lwwRecords.size(), 20);
        QCOMPARE(maps.value("m").lwwRecords.value("k7").value.toCbor().toInteger(), 199);
        storage->close();
    }

    void newerSchemaVersionIsAStartupError()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        auto storage = openAt(url);
        QVERIFY(storage);
        storage->close();
        QVERIFY(admin({ QStringLiteral("UPDATE wingman_meta SET value = '42' WHERE name = "
                                       "'schemaVersion'") },
            m_databases.last()));
        QString reason;
        QVERIFY(!openAt(url, &reason));
        QVERIFY2(reason.contains(QStringLiteral("database schema version 42 is newer than this "
                                                "server supports (%1)")
                                     .arg(storage::SqlStorage::kSchemaVersion)),
            qPrintable(reason));
    }

    void wrongPasswordIsAStartupErrorWithoutThePassword()
    {
        REQUIRE_POSTGRES();
        const QString wrong = QStringLiteral("not-the-password-x9");
        ServerConfig config = testConfig();
        config.storage = urlFor(m_url->database, wrong);
        const QString reason = startupFailure(config);
        QVERIFY2(reason.contains(m_url->postgresLocation()), qPrintable(reason));
        QVERIFY2(
            reason.contains(QStringLiteral("password authentication failed")), qPrintable(reason));
        QVERIFY2(!reason.contains(wrong), qPrintable(reason));

        ServerProcess process;
        process.start({ QStringLiteral("--storage"), config.storage });
        QVERIFY(process.waitForExit());
        QCOMPARE(process.process().exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.process().exitCode(), 1);
        QVERIFY2(!process.output().contains(wrong), qPrintable(process.output()));
    }

    void unreachableServerIsAStartupError()
    {
        REQUIRE_POSTGRES();
        quint16 closedPort = 0;
        {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            closedPort = probe.serverPort();
        }
        ServerConfig config = testConfig();
        config.storage = urlFor(m_url->database, m_url->password, closedPort);
        const QString reason = startupFailure(config);
        QVERIFY2(reason.contains(QStringLiteral(":%1/").arg(closedPort)), qPrintable(reason));
        QVERIFY2(!reason.contains(m_url->password), qPrintable(reason));
    }

    void missingDatabaseIsAStartupError()
    {
        REQUIRE_POSTGRES();
        ServerConfig config = testConfig();
        config.storage = urlFor(QStringLiteral("wingman_no_such_db"), m_url->password);
        const QString reason = startupFailure(config);
        QVERIFY2(reason.contains(QStringLiteral("wingman_no_such_db")), qPrintable(reason));
    }
};

QTEST_GUILESS_MAIN(tst_StoragePostgres)
#include "tst_storage_postgres.moc"

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

    // Runs writes as one write() call and waits for its done; the error, or empty.
    static QString writeAndWait(
        storage::Storage &storage, const QList<storage::StorageWrite> &writes)
    {
        QString result;
        bool done = false;
        storage.write(writes, [&](const QString &error) {
            result = error;
            done = true;
        });
        if (!QTest::qWaitFor([&] { return done; }, 30000))
            return QStringLiteral("no done callback");
        return result;
    }

    static storage::StorageWrite lwwPut(const QString &map, const QString &key,
        const QCborValue &value, qint64 millis, std::optional<qint64> ttlMs = std::nullopt)
    {
        storage::StorageWrite write;
        write.kind = storage::StorageWrite::Kind::LwwPut;
        write.mapName = map;
        write.key = key;
        write.lww = crdt::LwwRecord { value, { millis, 3, QStringLiteral("node-a") }, ttlMs };
        return write;
    }

    static storage::StorageWrite lwwDelete(const QString &map, const QString &key)
    {
        storage::StorageWrite write;
        write.kind = storage::StorageWrite::Kind::LwwDelete;
        write.mapName = map;
        write.key = key;
        return write;
    }

    static storage::StorageWrite tagged(
        storage::StorageWrite::Kind kind, const QString &map, const QString &tag)
    {
        storage::StorageWrite write;
        write.kind = kind;
        write.mapName = map;
        write.tag = tag;
        return write;
    }

    static storage::StorageWrite orPut(
        const QString &map, const QString &key, const QString &tag, const QCborValue &value)
    {
        storage::StorageWrite write;
        write.kind = storage::StorageWrite::Kind::OrPut;
        write.mapName = map;
        write.key = key;
        write.orRecord
            = crdt::OrRecord { value, { 2000, 1, QStringLiteral("node-b") }, tag, qint64(60000) };
        return write;
    }

    static storage::StorageWrite journal(
        storage::StorageWrite::Kind kind, qint64 sequence, const QByteArray &events = {})
    {
        storage::StorageWrite write;
        write.kind = kind;
        write.journal = { sequence, 1000 + sequence, events };
        return write;
    }

    // The value of a query's first column in the first row, on the test's last database.
    QVariant scalar(const QString &sql)
    {
        const QString name = QStringLiteral("tst_storage_postgres.scalar");
        QVariant value;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
            db.setHostName(m_url->host);
            db.setPort(m_url->port);
            db.setUserName(m_url->user);
            db.setPassword(m_url->password);
            db.setDatabaseName(m_databases.last());
            QSqlQuery query(db);
            if (db.open() && query.exec(sql) && query.next())
                value = query.value(0);
            else
                qWarning("%s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
        }
        QSqlDatabase::removeDatabase(name);
        return value;
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
        QCOMPARE(maps.value("m").lwwByKey().size(), 20);
        QCOMPARE(maps.value("m").lwwByKey().value("k7").value.toCbor().toInteger(), 199);
        storage->close();
    }

    // Every kind of write, through several write() calls that group-commit together and rewrite
    // the same rows, reads back as the last write left it.
    void everyKindOfWriteRoundTrips()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        auto storage = openAt(url);
        QVERIFY(storage);
        using Kind = storage::StorageWrite::Kind;
        const QByteArray events("\x91\x01", 2);
        QCOMPARE(writeAndWait(*storage,
                     { lwwPut("m", "kept", 1, 1000, 5000), lwwPut("m", "gone", 2, 1000),
                         lwwPut("m", "dead", QCborValue(QCborValue::Null), 1000),
                         lwwPut("m", QStringLiteral("ключ"), QStringLiteral("значение"), 1000),
                         orPut("o", "k", "t1", 10), orPut("o", "k", "t2", 20),
                         orPut("o", "k", "t3", 30), journal(Kind::JournalAppend, 5, events),
                         journal(Kind::JournalAppend, 9, events) }),
            QString());
        QList<QList<storage::StorageWrite>> later = {
            { lwwPut("m", "kept", 3, 2000, 7000), lwwDelete("m", "gone") },
            { tagged(Kind::OrTombstone, "o", "t1"), tagged(Kind::OrTombstone, "o", "t2") },
            { tagged(Kind::OrDeleteTombstone, "o", "t2"), orPut("o", "k", "t3", 31) },
            { journal(Kind::JournalAppend, 12, events), journal(Kind::JournalTrim, 9) },
        };
        int done = 0;
        QStringList errors;
        for (const auto &writes : std::as_const(later)) {
            storage->write(writes, [&](const QString &error) {
                ++done;
                if (!error.isEmpty())
                    errors.append(error);
            });
        }
        storage->storeMeta(QStringLiteral("someKey"), QStringLiteral("someValue"));
        QTRY_COMPARE_WITH_TIMEOUT(done, int(later.size()), 30000);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(u'\n')));
        storage->close();

        storage = openAt(url);
        QVERIFY(storage);
        const auto maps = storage->loadAll();
        const auto lww = maps.value("m").lwwByKey();
        QCOMPARE(lww.size(), 3);
        QCOMPARE(lww.value("kept").value.toCbor().toInteger(), 3);
        QCOMPARE(lww.value("kept").timestamp.millis, 2000);
        QCOMPARE(lww.value("kept").timestamp.counter, 3);
        QCOMPARE(lww.value("kept").timestamp.nodeId, QStringLiteral("node-a"));
        QCOMPARE(lww.value("kept").ttlMs, std::optional<qint64>(7000));
        QVERIFY(lww.value("dead").value.toCbor().isNull());
        QCOMPARE(lww.value("dead").ttlMs, std::nullopt);
        QCOMPARE(lww.value(QStringLiteral("ключ")).value.toCbor().toString(),
            QStringLiteral("значение"));
        const auto orMap = maps.value("o");
        QCOMPARE(orMap.kind, storage::StoredMap::Kind::Or);
        QCOMPARE(orMap.orRecords.value("k").size(), 1);
        QCOMPARE(orMap.orRecords.value("k").first().tag, QStringLiteral("t3"));
        QCOMPARE(orMap.orRecords.value("k").first().value.toCbor().toInteger(), 31);
        QCOMPARE(orMap.orRecords.value("k").first().ttlMs, std::optional<qint64>(60000));
        QCOMPARE(orMap.orTombstones, QStringList { QStringLiteral("t1") });
        const auto entries = storage->loadJournal();
        QCOMPARE(entries.size(), 2);
        QCOMPARE(entries.at(0).sequence, 9);
        QCOMPARE(entries.at(1).sequence, 12);
        QCOMPARE(entries.at(1).millis, 1012);
        QCOMPARE(entries.at(1).events, events);
        QCOMPARE(storage->loadMeta(QStringLiteral("someKey")), QStringLiteral("someValue"));
        storage->close();
    }

    // A group the server refuses is reported to its caller and stores nothing of it; the next
    // group commits as usual.
    void refusedCommitStoresNothingAndReportsIt()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        auto storage = openAt(url);
        QVERIFY(storage);
        // PostgreSQL's text cannot hold a NUL character.
        const QString refused = writeAndWait(*storage,
            { lwwPut("m", "first", 1, 1000), lwwPut("m", QStringLiteral("a\0b"), 2, 1000) });
        QVERIFY2(refused.contains(QStringLiteral("invalid byte sequence")), qPrintable(refused));
        QCOMPARE(writeAndWait(*storage, { lwwPut("m", "second", 3, 1000) }), QString());
        storage->close();

        storage = openAt(url);
        QVERIFY(storage);
        const auto lww = storage->loadAll().value("m").lwwByKey();
        QCOMPARE(lww.keys(), QList<QString> { QStringLiteral("second") });
        storage->close();
    }

    // The server ending the writer's connection fails the groups that follow, each with a reason,
    // instead of hanging them or acknowledging them.
    void lostConnectionFailsTheNextCommits()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        auto storage = openAt(url);
        QVERIFY(storage);
        QCOMPARE(writeAndWait(*storage, { lwwPut("m", "before", 1, 1000) }), QString());
        QVERIFY(admin({ QStringLiteral("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = '%1' AND pid <> pg_backend_pid()")
                            .arg(m_databases.last()) }));
        for (int i = 0; i < 2; ++i) {
            const QString error = writeAndWait(*storage, { lwwPut("m", "after", 2, 1000) });
            QVERIFY2(
                !error.isEmpty() && error != QStringLiteral("no done callback"), qPrintable(error));
        }
        storage->close();

        storage = openAt(url);
        QVERIFY(storage);
        QCOMPARE(storage->loadAll().value("m").lwwByKey().keys(),
            QList<QString> { QStringLiteral("before") });
        storage->close();
    }

    // A stored value that is not MessagePack stops the open, naming the record.
    void undecodableValueIsAStartupError()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        auto storage = openAt(url);
        QVERIFY(storage);
        QCOMPARE(writeAndWait(*storage, { lwwPut("m", "good", 1, 1000) }), QString());
        storage->close();
        // 0xc1 is never used in MessagePack.
        QVERIFY(admin({ QStringLiteral("INSERT INTO wingman_lww VALUES ('m', 'bad', 1, 0, 'n', "
                                       "NULL, '\\xc1')") },
            m_databases.last()));
        QString reason;
        QVERIFY(!openAt(url, &reason));
        QVERIFY2(
            reason.contains(QStringLiteral("the value of 'bad' in map 'm'")), qPrintable(reason));
    }

    // A database written by a server of schema version 1 (the database's default collation
    // on the key columns) opens with everything in it, and leaves at version 2 with the key
    // columns in "C", where new writes go.
    void versionOneDatabaseIsMigrated()
    {
        REQUIRE_POSTGRES();
        const QString url = freshDatabase();
        QVERIFY(!url.isEmpty());
        QVERIFY(admin(
            {
                QStringLiteral("CREATE TABLE wingman_meta (name TEXT NOT NULL PRIMARY KEY, value "
                               "TEXT NOT NULL)"),
                QStringLiteral("CREATE TABLE wingman_lww (map_name TEXT NOT NULL, record_key "
                               "TEXT NOT NULL, millis BIGINT NOT NULL, counter INTEGER NOT NULL, "
                               "node_id TEXT NOT NULL, ttl_ms BIGINT, value BYTEA NOT NULL, "
                               "PRIMARY KEY (map_name, record_key))"),
                QStringLiteral("CREATE TABLE wingman_or (map_name TEXT NOT NULL, tag TEXT NOT "
                               "NULL, record_key TEXT NOT NULL, millis BIGINT NOT NULL, counter "
                               "INTEGER NOT NULL, node_id TEXT NOT NULL, ttl_ms BIGINT, value "
                               "BYTEA NOT NULL, PRIMARY KEY (map_name, tag))"),
                QStringLiteral("CREATE TABLE wingman_or_tombstones (map_name TEXT NOT NULL, tag "
                               "TEXT NOT NULL, PRIMARY KEY (map_name, tag))"),
                QStringLiteral("CREATE TABLE wingman_journal (sequence BIGINT NOT NULL PRIMARY "
                               "KEY, millis BIGINT NOT NULL, events BYTEA NOT NULL)"),
                QStringLiteral("INSERT INTO wingman_meta VALUES ('schemaVersion', '1'), "
                               "('nodeId', 'old-node')"),
                // MessagePack: 7, and "hi".
                QStringLiteral("INSERT INTO wingman_lww VALUES ('m', 'a', 1000, 2, 'n1', 500, "
                               "'\\x07'), ('m', 'b', 1001, 0, 'n1', NULL, '\\xa26869')"),
                QStringLiteral("INSERT INTO wingman_or VALUES ('o', 't1', 'k', 1002, 0, 'n2', "
                               "NULL, '\\x07')"),
                QStringLiteral("INSERT INTO wingman_or_tombstones VALUES ('o', 't0')"),
                QStringLiteral("INSERT INTO wingman_journal VALUES (4, 1004, '\\x90')"),
            },
            m_databases.last()));

        auto storage = openAt(url);
        QVERIFY(storage);
        auto maps = storage->loadAll();
        QCOMPARE(maps.value("m").lwwByKey().size(), 2);
        QCOMPARE(maps.value("m").lwwByKey().value("a").value.toCbor().toInteger(), 7);
        QCOMPARE(maps.value("m").lwwByKey().value("a").ttlMs, std::optional<qint64>(500));
        QCOMPARE(maps.value("m").lwwByKey().value("a").timestamp.counter, 2);
        QCOMPARE(maps.value("m").lwwByKey().value("b").value.toCbor().toString(), "hi");
        QCOMPARE(maps.value("o").orRecords.value("k").size(), 1);
        QCOMPARE(maps.value("o").orRecords.value("k").first().tag, QStringLiteral("t1"));
        QCOMPARE(maps.value("o").orTombstones, QStringList { QStringLiteral("t0") });
        QCOMPARE(storage->loadJournal().size(), 1);
        QCOMPARE(storage->loadMeta(QStringLiteral("nodeId")), QStringLiteral("old-node"));
        QCOMPARE(storage->loadMeta(QStringLiteral("schemaVersion")), QStringLiteral("2"));

        QCOMPARE(scalar("SELECT value FROM wingman_meta WHERE name = 'schemaVersion'").toString(),
            QString::number(storage::PostgresStorage::kSchemaVersion));
        QCOMPARE(scalar("SELECT count(*) FROM information_schema.columns WHERE table_name IN "
                        "('wingman_meta', 'wingman_lww', 'wingman_or', 'wingman_or_tombstones') "
                        "AND column_name IN ('name', 'map_name', 'record_key', 'tag') AND "
                        "collation_name = 'C'")
                     .toInt(),
            7);

        using Kind = storage::StorageWrite::Kind;
        QCOMPARE(writeAndWait(*storage,
                     { lwwPut("m", "a", 8, 3000), lwwDelete("m", "b"),
                         tagged(Kind::OrTombstone, "o", "t1") }),
            QString());
        storage->close();

        storage = openAt(url);
        QVERIFY(storage);
        maps = storage->loadAll();
        QCOMPARE(maps.value("m").lwwByKey().keys(), QList<QString> { QStringLiteral("a") });
        QCOMPARE(maps.value("m").lwwByKey().value("a").value.toCbor().toInteger(), 8);
        QVERIFY(maps.value("o").orRecords.isEmpty());
        QCOMPARE(maps.value("o").orTombstones.size(), 2);
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
                                     .arg(storage::PostgresStorage::kSchemaVersion)),
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

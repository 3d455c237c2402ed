#include "protocol/Wire.h"
#include "storage/SqliteCheckpointer.h"
#include "storage/SqliteStorage.h"

#include <QCborArray>
#include <QCborMap>
#include <QCryptographicHash>
#include <QFile>
#include <QSet>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <sqlite3.h>

using namespace wingman;
using storage::SqliteStorage;
using storage::Storage;
using storage::StorageWrite;
using storage::StoredMap;

namespace {

StorageWrite lwwPut(const QString &map, const QString &key, const crdt::Value &value, qint64 millis,
    std::optional<qint64> ttlMs = std::nullopt)
{
    StorageWrite write;
    write.kind = StorageWrite::Kind::LwwPut;
    write.mapName = map;
    write.key = key;
    write.lww = crdt::LwwRecord { value, { millis, 0, QStringLiteral("n1") }, ttlMs };
    return write;
}

StorageWrite orPut(const QString &map, const QString &key, const QCborValue &value, qint64 millis)
{
    StorageWrite write;
    write.kind = StorageWrite::Kind::OrPut;
    write.mapName = map;
    write.key = key;
    const crdt::Timestamp timestamp { millis, 0, QStringLiteral("n1") };
    write.orRecord = crdt::OrRecord { value, timestamp, timestamp.toString(), std::nullopt };
    return write;
}

StorageWrite withKind(StorageWrite write, StorageWrite::Kind kind, const QString &tag = {})
{
    write.kind = kind;
    write.tag = tag;
    return write;
}

QByteArray fileHash(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

// Runs SQL against a database file on a connection of the test's own.
bool execSql(const QString &path, const QStringList &statements)
{
    const QString name = QStringLiteral("tst_sqlitestorage.raw");
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        ok = db.open();
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

// A VFS over the default one that counts syncs of WAL files, which is what a commit that
// survives power loss costs. Installed as the default VFS while it exists, so the storage's own
// connections use it.
class WalSyncCounter
{
public:
    WalSyncCounter()
    {
        s_base = sqlite3_vfs_find(nullptr);
        s_vfs = *s_base;
        s_vfs.pNext = nullptr;
        s_vfs.zName = "wingman-wal-sync-counter";
        s_vfs.szOsFile = int(sizeof(File)) + s_base->szOsFile;
        s_vfs.xOpen = &open;
        s_methods = { 3, &close, &read, &write, &truncate, &sync, &fileSize, &lock, &unlock,
            &checkReservedLock, &fileControl, &sectorSize, &deviceCharacteristics, &shmMap,
            &shmLock, &shmBarrier, &shmUnmap, &fetch, &unfetch };
        s_walSyncs = 0;
        sqlite3_vfs_register(&s_vfs, 1);
    }
    ~WalSyncCounter()
    {
        sqlite3_vfs_unregister(&s_vfs);
        sqlite3_vfs_register(s_base, 1);
    }

    int walSyncs() const { return s_walSyncs; }

private:
    struct File {
        sqlite3_file base;
        sqlite3_file *real; // the base VFS's file, right after this struct
        bool wal;
    };

    static sqlite3_file *real(sqlite3_file *file) { return reinterpret_cast<File *>(file)->real; }
    static const sqlite3_io_methods *io(sqlite3_file *file) { return real(file)->pMethods; }

    static int open(sqlite3_vfs *, const char *name, sqlite3_file *file, int flags, int *out)
    {
        auto *f = reinterpret_cast<File *>(file);
        f->real = reinterpret_cast<sqlite3_file *>(f + 1);
        f->wal = (flags & SQLITE_OPEN_WAL) != 0;
        const int rc = s_base->xOpen(s_base, name, f->real, flags, out);
        f->base.pMethods = f->real->pMethods ? &s_methods : nullptr;
        return rc;
    }
    static int close(sqlite3_file *f) { return io(f)->xClose(real(f)); }
    static int read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
    {
        return io(f)->xRead(real(f), b, n, o);
    }
    static int write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
    {
        return io(f)->xWrite(real(f), b, n, o);
    }
    static int truncate(sqlite3_file *f, sqlite3_int64 size)
    {
        return io(f)->xTruncate(real(f), size);
    }
    static int sync(sqlite3_file *f, int flags)
    {
        if (reinterpret_cast<File *>(f)->wal)
            ++s_walSyncs;
        return io(f)->xSync(real(f), flags);
    }
    static int fileSize(sqlite3_file *f, sqlite3_int64 *size)
    {
        return io(f)->xFileSize(real(f), size);
    }
    static int lock(sqlite3_file *f, int level) { return io(f)->xLock(real(f), level); }
    static int unlock(sqlite3_file *f, int level) { return io(f)->xUnlock(real(f), level); }
    static int checkReservedLock(sqlite3_file *f, int *out)
    {
        return io(f)->xCheckReservedLock(real(f), out);
    }
    static int fileControl(sqlite3_file *f, int op, void *arg)
    {
        return io(f)->xFileControl(real(f), op, arg);
    }
    static int sectorSize(sqlite3_file *f) { return io(f)->xSectorSize(real(f)); }
    static int deviceCharacteristics(sqlite3_file *f)
    {
        return io(f)->xDeviceCharacteristics(real(f));
    }
    static int shmMap(sqlite3_file *f, int page, int size, int extend, void volatile **out)
    {
        return io(f)->xShmMap(real(f), page, size, extend, out);
    }
    static int shmLock(sqlite3_file *f, int offset, int n, int flags)
    {
        return io(f)->xShmLock(real(f), offset, n, flags);
    }
    static void shmBarrier(sqlite3_file *f) { io(f)->xShmBarrier(real(f)); }
    static int shmUnmap(sqlite3_file *f, int deleteFlag)
    {
        return io(f)->xShmUnmap(real(f), deleteFlag);
    }
    static int fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **out)
    {
        return io(f)->xFetch(real(f), o, n, out);
    }
    static int unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
    {
        return io(f)->xUnfetch(real(f), o, p);
    }

    static inline sqlite3_vfs *s_base = nullptr;
    static inline sqlite3_vfs s_vfs {};
    static inline sqlite3_io_methods s_methods {};
    static inline std::atomic<int> s_walSyncs { 0 };
};

} // namespace

class tst_SqliteStorage : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

    QString dbPath(const QString &name = QStringLiteral("data/wingman.db")) const
    {
        return m_dir.filePath(name);
    }

    // Opens storage at path; on failure returns null and the reason in *reason.
    static std::unique_ptr<SqliteStorage> openAt(const QString &path, QString *reason = nullptr,
        storage::Durability durability = storage::Durability::Full)
    {
        auto storage = std::make_unique<SqliteStorage>(path, durability);
        QSignalSpy opened(storage.get(), &Storage::opened);
        QSignalSpy failed(storage.get(), &Storage::failed);
        storage->open();
        if (!opened.isEmpty() || !failed.isEmpty()) {
            qWarning("open() reported synchronously");
            return nullptr;
        }
        if (!QTest::qWaitFor([&] { return !opened.isEmpty() || !failed.isEmpty(); }, 10000))
            return nullptr;
        if (!failed.isEmpty()) {
            if (reason)
                *reason = failed.first().first().toString();
            return nullptr;
        }
        return storage;
    }

    // Writes and waits for the commit; the error, or empty.
    static QString writeAndWait(Storage &storage, QList<StorageWrite> writes)
    {
        std::optional<QString> result;
        storage.write(std::move(writes), [&](const QString &error) { result = error; });
        if (!QTest::qWaitFor([&] { return result.has_value(); }, 10000))
            return QStringLiteral("timeout");
        return *result;
    }

    // A closed database at path holding one record.
    void makeDatabase(const QString &path)
    {
        auto storage = openAt(path);
        QVERIFY(storage);
        QCOMPARE(
            writeAndWait(*storage, { lwwPut("m", "k", QStringLiteral("v"), 1000) }), QString());
        storage->close();
    }

    static void expectFailure(const QString &path, const QString &expected)
    {
        const QByteArray before = fileHash(path);
        QString reason;
        QVERIFY(!openAt(path, &reason));
        QVERIFY2(reason.contains(expected, Qt::CaseInsensitive), qPrintable(reason));
        QVERIFY2(reason.contains(path), qPrintable(reason));
        QCOMPARE(fileHash(path), before);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void init()
    {
        QDir(m_dir.path()).removeRecursively();
        QVERIFY(QDir().mkpath(m_dir.path()));
    }

    void createsDirectoryFileAndWalOnFirstOpen()
    {
        auto storage = openAt(dbPath());
        QVERIFY(storage);
        QVERIFY(storage->isOpen());
        QVERIFY(storage->isDurable());
        QVERIFY(QFile::exists(dbPath()));
        QVERIFY(storage->loadAll().isEmpty());
        storage->close();
        QVERIFY(!storage->isOpen());

        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), "wal");
        {
            db.setDatabaseName(dbPath());
            QVERIFY(db.open());
            QSqlQuery query(db);
            QVERIFY(query.exec("PRAGMA journal_mode") && query.next());
            QCOMPARE(query.value(0).toString(), QStringLiteral("wal"));
            QVERIFY(query.exec("SELECT value FROM wingman_meta WHERE name = 'schemaVersion'")
                && query.next());
            QCOMPARE(query.value(0).toInt(), SqliteStorage::kSchemaVersion);
        }
        db = {};
        QSqlDatabase::removeDatabase("wal");
    }

    // Full durability (the default) syncs the WAL with every group commit, so an acked write
    // survives power loss; relaxed leaves that to checkpoints.
    void fullDurabilitySyncsEveryCommit_data()
    {
        QTest::addColumn<storage::Durability>("durability");
        QTest::addColumn<bool>("syncsEachCommit");
        QTest::newRow("full") << storage::Durability::Full << true;
        QTest::newRow("relaxed") << storage::Durability::Relaxed << false;
    }

    void fullDurabilitySyncsEveryCommit()
    {
        QFETCH(storage::Durability, durability);
        QFETCH(bool, syncsEachCommit);
        WalSyncCounter counter;
        auto storage = openAt(dbPath(), nullptr, durability);
        QVERIFY(storage);
        constexpr int kCommits = 20;
        const int before = counter.walSyncs();
        for (int i = 0; i < kCommits; ++i)
            QCOMPARE(
                writeAndWait(*storage,
                    { lwwPut("m", QStringLiteral("k%1").arg(i), QStringLiteral("v"), 1000 + i) }),
                QString());
        const int syncs = counter.walSyncs() - before;
        storage->close();
        if (syncsEachCommit)
            QVERIFY2(syncs >= kCommits, qPrintable(QString::number(syncs)));
        else
            QCOMPARE(syncs, 0);
    }

    void writesLoadBackAfterReopen()
    {
        {
            auto storage = openAt(dbPath());
            QVERIFY(storage);
            const QCborMap nested { { QStringLiteral("name"), QStringLiteral("Ann") },
                { QStringLiteral("tags"), QCborArray { 1, 2.5, true } } };
            QCOMPARE(writeAndWait(*storage,
                         { lwwPut("people", "ann", nested, 1000),
                             lwwPut("people", "bob", QCborValue(QCborValue::Null), 1001),
                             lwwPut("people", "eve", QStringLiteral("short-lived"), 1002, 60000),
                             lwwPut("bytes", "b", QByteArray("\x00\x01\xff", 3), 5),
                             orPut("tags", "t", QStringLiteral("red"), 2000),
                             orPut("tags", "t", QStringLiteral("blue"), 2001),
                             orPut("tags", "u", QStringLiteral("green"), 2002) }),
                QString());
            const StorageWrite red = orPut("tags", "t", QStringLiteral("red"), 2000);
            QCOMPARE(writeAndWait(*storage,
                         { withKind(red, StorageWrite::Kind::OrTombstone, red.orRecord.tag) }),
                QString());
            storage->storeMeta(QStringLiteral("nodeId"), QStringLiteral("node-x"));
            storage->close();
        }

        auto storage = openAt(dbPath());
        QVERIFY(storage);
        QCOMPARE(storage->loadMeta(QStringLiteral("nodeId")), QStringLiteral("node-x"));
        const QHash<QString, StoredMap> maps = storage->loadAll();
        QCOMPARE(maps.size(), 3);

        const StoredMap &people = maps.value(QStringLiteral("people"));
        QCOMPARE(people.kind, StoredMap::Kind::Lww);
        QCOMPARE(people.lwwByKey().size(), 3);
        QCOMPARE(people.lwwByKey().value("ann"),
            lwwPut("people", "ann",
                QCborMap { { QStringLiteral("name"), QStringLiteral("Ann") },
                    { QStringLiteral("tags"), QCborArray { 1, 2.5, true } } },
                1000)
                .lww);
        QVERIFY(people.lwwByKey().value("bob").isTombstone());
        QCOMPARE(people.lwwByKey().value("eve").ttlMs, std::optional<qint64>(60000));
        QCOMPARE(maps.value("bytes").lwwByKey().value("b").value.toCbor().toByteArray(),
            QByteArray("\x00\x01\xff", 3));

        const StoredMap &tags = maps.value(QStringLiteral("tags"));
        QCOMPARE(tags.kind, StoredMap::Kind::Or);
        const QString redTag = crdt::Timestamp { 2000, 0, QStringLiteral("n1") }.toString();
        QCOMPARE(tags.orTombstones, QStringList { redTag });
        QCOMPARE(tags.orRecords.value("t").size(), 1);
        QCOMPARE(
            tags.orRecords.value("t").first().value.toCbor().toString(), QStringLiteral("blue"));
        QCOMPARE(tags.orRecords.value("u").size(), 1);
        storage->close();
    }

    // Names, keys, node ids and tags go to SQLite as UTF-8, map names and node ids converted once
    // while they repeat; a packed value is stored as its bytes and loads back packed.
    void textAndPackedValuesLoadBackExactly()
    {
        const QString mapA = QStringLiteral("carte-\u00e9t\u00e9");
        const QString mapB = QStringLiteral("\u4e2d\u6587");
        const QString keyA = QStringLiteral("cl\u00e9 \U0001F600");
        const QByteArray packed = wire::MsgPackCodec::encode(
            QCborMap { { QStringLiteral("k"), QStringLiteral("\u00fc") } });
        StorageWrite first = lwwPut(mapA, keyA, QCborValue(1), 10);
        first.lww.timestamp.nodeId = QStringLiteral("n\u0153ud");
        const StorageWrite second
            = lwwPut(mapB, QStringLiteral("plain"), crdt::Value::fromPacked(packed), 11);
        const StorageWrite third = lwwPut(mapA, QStringLiteral("ascii"), QCborValue(3), 12);
        StorageWrite orWrite = orPut(
            mapB + QStringLiteral("-or"), QStringLiteral("\u00fc"), QStringLiteral("x"), 13);
        orWrite.orRecord.timestamp.nodeId = QStringLiteral("n\u00f8de");
        orWrite.orRecord.tag = orWrite.orRecord.timestamp.toString();
        {
            auto storage = openAt(dbPath());
            QVERIFY(storage);
            QCOMPARE(writeAndWait(*storage, { first, second, third, orWrite }), QString());
            storage->close();
        }

        auto storage = openAt(dbPath());
        QVERIFY(storage);
        const QHash<QString, StoredMap> maps = storage->loadAll();
        QCOMPARE(maps.size(), 3);
        const StoredMap &a = maps.value(mapA);
        QCOMPARE(a.lwwByKey().size(), 2);
        QCOMPARE(a.lwwByKey().value(keyA), first.lww);
        QCOMPARE(a.lwwByKey().value(keyA).timestamp.nodeId, QStringLiteral("n\u0153ud"));
        QCOMPARE(a.lwwByKey().value(QStringLiteral("ascii")), third.lww);
        const crdt::LwwRecord loaded = maps.value(mapB).lwwByKey().value(QStringLiteral("plain"));
        QVERIFY(loaded.value.isPacked());
        QCOMPARE(loaded.value.packed(), packed);
        QCOMPARE(loaded, second.lww);
        const StoredMap &orMap = maps.value(mapB + QStringLiteral("-or"));
        QCOMPARE(orMap.orRecords.value(QStringLiteral("\u00fc")),
            QList<crdt::OrRecord> { orWrite.orRecord });
        storage->close();
    }

    // Commits that fill the WAL past the threshold get checkpoints on the checkpointer's own
    // thread; the WAL file never grows far past the writer's limit, and every row is kept.
    void checkpointsRunBesideTheWriterAndBoundTheWal()
    {
        const QString path = dbPath(QStringLiteral("checkpoints.db"));
        sqlite3 *db = nullptr;
        QCOMPARE(sqlite3_open_v2(path.toUtf8().constData(), &db,
                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
            SQLITE_OK);
        const auto exec
            = [db](const char *sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); };
        sqlite3_busy_timeout(db, 5000); // as Qt's QSQLITE connection, the writer's
        QCOMPARE(exec("PRAGMA journal_mode=WAL"), SQLITE_OK);
        QCOMPARE(exec("PRAGMA synchronous=NORMAL"), SQLITE_OK);
        QCOMPARE(exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)"), SQLITE_OK);

        constexpr int kCheckpointPages = 64;
        constexpr int kMaxPages = 256;
        constexpr int kRowsPerCommit = 8; // about 8 pages a commit
        constexpr int kCommits = 400; // about 12 times kMaxPages in all
        int passive = 0;
        {
            storage::SqliteCheckpointer checkpointer(path, kCheckpointPages, kMaxPages);
            checkpointer.attach(db);
            sqlite3_stmt *insert = nullptr;
            QCOMPARE(sqlite3_prepare_v2(db, "INSERT INTO t (payload) VALUES (zeroblob(3000))", -1,
                         &insert, nullptr),
                SQLITE_OK);
            for (int commit = 0; commit < kCommits; ++commit) {
                QCOMPARE(exec("BEGIN IMMEDIATE"), SQLITE_OK);
                for (int row = 0; row < kRowsPerCommit; ++row) {
                    QCOMPARE(sqlite3_step(insert), SQLITE_DONE);
                    sqlite3_reset(insert);
                }
                QCOMPARE(exec("COMMIT"), SQLITE_OK);
            }
            sqlite3_finalize(insert);
            QTRY_VERIFY_WITH_TIMEOUT(checkpointer.passiveCount() > 0, 10000);
            passive = checkpointer.passiveCount();
        }
        QVERIFY(passive > 0);
        // Frames are 4 KiB pages plus a 24-byte header; one commit may pass the limit.
        const qint64 walLimit = qint64(kMaxPages + 2 * kRowsPerCommit) * (4096 + 24) + 32;
        QVERIFY2(QFileInfo(path + QStringLiteral("-wal")).size() <= walLimit,
            qPrintable(QString::number(QFileInfo(path + QStringLiteral("-wal")).size())));

        sqlite3_stmt *count = nullptr;
        QCOMPARE(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &count, nullptr), SQLITE_OK);
        QCOMPARE(sqlite3_step(count), SQLITE_ROW);
        QCOMPARE(sqlite3_column_int(count, 0), kCommits * kRowsPerCommit);
        sqlite3_finalize(count);
        QCOMPARE(sqlite3_close(db), SQLITE_OK);
    }

    void laterWritesInOneGroupWin()
    {
        auto storage = openAt(dbPath());
        QVERIFY(storage);
        // Submitted back to back, these share transactions; each row ends as its last write.
        const StorageWrite a = orPut("or", "k", QStringLiteral("a"), 10);
        int committed = 0;
        const auto count = [&](const QString &error) { committed += error.isEmpty(); };
        storage->write({ lwwPut("m", "k", 1, 1), lwwPut("m", "k", 2, 2) }, count);
        storage->write({ withKind(lwwPut("m", "k", 2, 2), StorageWrite::Kind::LwwDelete),
                           lwwPut("m", "gone", 1, 1) },
            count);
        storage->write({ withKind(lwwPut("m", "gone", 1, 1), StorageWrite::Kind::LwwDelete),
                           lwwPut("m", "k", 3, 3), a },
            count);
        storage->write(
            { withKind(a, StorageWrite::Kind::OrTombstone, a.orRecord.tag),
                withKind(a, StorageWrite::Kind::OrTombstone, QStringLiteral("x")),
                withKind(a, StorageWrite::Kind::OrDeleteTombstone, QStringLiteral("x")) },
            count);
        QTRY_COMPARE(committed, 4);
        storage->close();

        storage = openAt(dbPath());
        QVERIFY(storage);
        const QHash<QString, StoredMap> maps = storage->loadAll();
        QCOMPARE(maps.value("m").lwwByKey().keys(), QStringList { "k" });
        QCOMPARE(maps.value("m").lwwByKey().value("k").value.toCbor().toInteger(), 3);
        QVERIFY(maps.value("or").orRecords.isEmpty());
        QCOMPARE(maps.value("or").orTombstones, QStringList { a.orRecord.tag });
    }

    void doneRunsAfterCommitInSubmissionOrderOnOwnerThread()
    {
        auto storage = openAt(dbPath());
        QVERIFY(storage);
        constexpr int kWrites = 300;
        QList<int> order;
        bool visibleAtDone = true;
        bool ownerThread = true;
        for (int i = 0; i < kWrites; ++i) {
            QList<StorageWrite> writes;
            for (int j = 0; j < 10; ++j)
                writes.append(lwwPut("m", QStringLiteral("k%1-%2").arg(i).arg(j), i, 100 + i));
            storage->write(std::move(writes), [&, i](const QString &error) {
                QVERIFY(error.isEmpty());
                order.append(i);
                ownerThread = ownerThread && QThread::currentThread() == thread();
                // Spot checks that the ack would follow the commit: another connection sees it.
                if (i % 50 == 0) {
                    const QString name = QStringLiteral("tst.check");
                    {
                        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", name);
                        db.setDatabaseName(dbPath());
                        QSqlQuery query(db);
                        visibleAtDone = visibleAtDone && db.open()
                            && query.exec(QStringLiteral("SELECT COUNT(*) FROM wingman_lww WHERE "
                                                         "record_key = 'k%1-9'")
                                              .arg(i))
                            && query.next() && query.value(0).toInt() == 1;
                    }
                    QSqlDatabase::removeDatabase(name);
                }
            });
        }
        QTRY_COMPARE_WITH_TIMEOUT(order.size(), kWrites, 20000);
        QList<int> expected;
        for (int i = 0; i < kWrites; ++i)
            expected.append(i);
        QCOMPARE(order, expected);
        QVERIFY(ownerThread);
        QVERIFY(visibleAtDone);
        storage->close();
    }

    void closeFlushesAndRunsEveryDone()
    {
        auto storage = openAt(dbPath());
        QVERIFY(storage);
        int committed = 0;
        for (int i = 0; i < 100; ++i) {
            storage->write({ lwwPut("m", QString::number(i), i, 1) },
                [&](const QString &error) { committed += error.isEmpty(); });
        }
        storage->close();
        QCOMPARE(committed, 100);

        std::optional<QString> afterClose;
        storage->write({ lwwPut("m", "late", 1, 1) }, [&](const QString &e) { afterClose = e; });
        QVERIFY(!afterClose); // never synchronously
        QTRY_VERIFY(afterClose.has_value());
        QVERIFY(!afterClose->isEmpty());

        storage = openAt(dbPath());
        QVERIFY(storage);
        QCOMPARE(storage->loadAll().value("m").lwwByKey().size(), 100);
    }

    // With a sink, LWW records leave the loading thread in chunks as they are read; loadAll()
    // still names the maps and their kind, and counts what was streamed.
    void streamsLwwRecordsToASinkWhileLoading()
    {
        {
            auto storage = openAt(dbPath());
            QVERIFY(storage);
            QList<StorageWrite> writes;
            for (int i = 0; i < 40'000; ++i)
                writes.append(lwwPut("a", QString::number(i), i, 1000 + i));
            writes.append(lwwPut("b", "only", QStringLiteral("v"), 5));
            writes.append(orPut("tags", "t", QStringLiteral("red"), 2000));
            QCOMPARE(writeAndWait(*storage, writes), QString());
            storage->close();
        }

        std::mutex mutex;
        QHash<QString, QSet<QString>> keys;
        QHash<QString, crdt::LwwRecord> seen;
        int chunks = 0;
        size_t largest = 0;
        bool offMainThread = true;
        bool duplicate = false;
        const std::thread::id mainThread = std::this_thread::get_id();
        auto storage = std::make_unique<SqliteStorage>(dbPath(), storage::Durability::Full);
        storage->setLwwLoadSink(
            [&](const QString &map, std::vector<storage::StoredLwwRecord> &&records) {
                std::lock_guard lock(mutex);
                ++chunks;
                largest = std::max(largest, records.size());
                offMainThread = offMainThread && std::this_thread::get_id() != mainThread;
                for (const storage::StoredLwwRecord &stored : records) {
                    duplicate = duplicate || keys[map].contains(stored.key);
                    keys[map].insert(stored.key);
                    seen.insert(map + u'/' + stored.key, stored.record);
                }
            });
        QSignalSpy opened(storage.get(), &Storage::opened);
        storage->open();
        QVERIFY(opened.wait(10000));

        std::lock_guard lock(mutex);
        QVERIFY(offMainThread);
        QVERIFY(!duplicate);
        QVERIFY2(chunks >= 3, qPrintable(QString::number(chunks))); // 40,001 records, in chunks
        QVERIFY(largest < 40'000);
        QCOMPARE(keys.value("a").size(), 40'000);
        QCOMPARE(keys.value("b").size(), 1);
        QCOMPARE(seen.value("a/123"), lwwPut("a", "123", 123, 1123).lww);
        const QHash<QString, StoredMap> maps = storage->loadAll();
        QCOMPARE(maps.size(), 3);
        QCOMPARE(maps.value("a").kind, StoredMap::Kind::Lww);
        QVERIFY(maps.value("a").lwwRecords.empty());
        QCOMPARE(maps.value("a").streamedLwwRecords, 40'000);
        QCOMPARE(maps.value("b").streamedLwwRecords, 1);
        QCOMPARE(maps.value("tags").kind, StoredMap::Kind::Or);
        QCOMPARE(maps.value("tags").orRecords.value("t").size(), 1);
        storage->close();
    }

    void metaStoredAfterOpenLoadsBackOnReopen()
    {
        {
            auto storage = openAt(dbPath());
            QVERIFY(storage);
            QCOMPARE(storage->loadMeta(QStringLiteral("nodeId")), QString());
            storage->storeMeta(QStringLiteral("nodeId"), QStringLiteral("node-7"));
            QCOMPARE(storage->loadMeta(QStringLiteral("nodeId")), QStringLiteral("node-7"));
            storage->close();
        }
        auto reopened = openAt(dbPath());
        QVERIFY(reopened);
        QCOMPARE(reopened->loadMeta(QStringLiteral("nodeId")), QStringLiteral("node-7"));
    }

    void newerSchemaVersionFailsUntouched()
    {
        makeDatabase(dbPath());
        QVERIFY(execSql(
            dbPath(), { "UPDATE wingman_meta SET value = '99' WHERE name = 'schemaVersion'" }));
        expectFailure(dbPath(),
            QStringLiteral("database schema version 99 is newer than this "
                           "server supports (%1)")
                .arg(SqliteStorage::kSchemaVersion));
    }

    void foreignDatabaseFailsUntouched()
    {
        QVERIFY(QDir().mkpath(m_dir.filePath("data")));
        QVERIFY(execSql(dbPath(),
            { "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)",
                "INSERT INTO invoices VALUES (1, 9.5)" }));
        expectFailure(dbPath(), QStringLiteral("not a Wingman database"));
    }

    void corruptFileFailsUntouched_data()
    {
        QTest::addColumn<QString>("damage");
        QTest::newRow("garbage") << "garbage";
        QTest::newRow("header") << "header";
        QTest::newRow("pages") << "pages";
        QTest::newRow("truncated") << "truncated";
    }

    void corruptFileFailsUntouched()
    {
        QFETCH(QString, damage);
        QVERIFY(QDir().mkpath(m_dir.filePath("data")));
        if (damage == "garbage") {
            QFile file(dbPath());
            QVERIFY(file.open(QIODevice::WriteOnly));
            QByteArray junk;
            for (int i = 0; i < 64 * 1024; ++i)
                junk.append(char((i * 7919) % 251));
            file.write(junk);
        } else {
            {
                auto storage = openAt(dbPath());
                QVERIFY(storage);
                QList<StorageWrite> writes;
                for (int i = 0; i < 5000; ++i)
                    writes.append(lwwPut("m", QStringLiteral("key-%1").arg(i), i, i));
                QCOMPARE(writeAndWait(*storage, writes), QString());
                storage->close();
            }
            QFile file(dbPath());
            QVERIFY(file.open(QIODevice::ReadWrite));
            const qint64 size = file.size();
            QVERIFY(size > 16 * 4096);
            if (damage == "header") {
                file.write(QByteArray(100, 'X'));
            } else if (damage == "pages") {
                // Scribble over the middle of the b-tree pages.
                for (qint64 offset = 4 * 4096; offset < size - 4096; offset += 3 * 4096) {
                    file.seek(offset + 8);
                    file.write(QByteArray(1024, '\xa5'));
                }
            } else {
                file.resize(size / 2);
            }
        }
        expectFailure(dbPath(), QStringLiteral("is corrupt"));
    }

    void unwritableDirectoryFails()
    {
        // Root ignores permission bits, so as root take a directory that refuses new files to
        // everyone (sysfs), and skip where there is none.
        QString directory = m_dir.filePath(QStringLiteral("ro"));
        QVERIFY(QDir().mkpath(directory));
        QVERIFY(QFile::setPermissions(directory, QFile::ReadOwner | QFile::ExeOwner));
        QFile probe(QDir(directory).filePath("probe"));
        if (probe.open(QIODevice::WriteOnly)) {
            probe.remove();
            directory = QStringLiteral("/sys/kernel");
            QFile sysProbe(QDir(directory).filePath("wingman-probe"));
            if (!QFileInfo(directory).isDir() || sysProbe.open(QIODevice::WriteOnly))
                QSKIP("no directory here refuses new files to this user");
        }
        const QString path = QDir(directory).filePath(QStringLiteral("wingman.db"));
        QString reason;
        QVERIFY(!openAt(path, &reason));
        QVERIFY2(reason.contains(directory) && reason.contains("cannot"), qPrintable(reason));
        QVERIFY(!QFile::exists(path));
        QFile::setPermissions(m_dir.filePath(QStringLiteral("ro")),
            QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    }

    void pathThroughAFileFails()
    {
        QFile blocker(m_dir.filePath(QStringLiteral("file")));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        QString reason;
        QVERIFY(!openAt(m_dir.filePath(QStringLiteral("file/sub/wingman.db")), &reason));
        QVERIFY2(reason.contains(QStringLiteral("cannot create directory")), qPrintable(reason));
    }

    void writesFailAfterOpenFails()
    {
        QVERIFY(QDir().mkpath(m_dir.filePath("data")));
        QVERIFY(execSql(dbPath(), { "CREATE TABLE other (x)" }));
        SqliteStorage storage(dbPath());
        std::optional<QString> early;
        storage.write({ lwwPut("m", "k", 1, 1) }, [&](const QString &error) { early = error; });
        QSignalSpy failed(&storage, &Storage::failed);
        storage.open();
        QVERIFY(failed.wait(10000));
        QTRY_VERIFY(early.has_value());
        QVERIFY(early->contains(QStringLiteral("not a Wingman database")));
        QVERIFY(!storage.isOpen());
        storage.close();
    }
};

QTEST_GUILESS_MAIN(tst_SqliteStorage)
#include "tst_sqlitestorage.moc"

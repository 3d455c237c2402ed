#include "storage/SqliteStorage.h"

#include "storage/SqliteCheckpointer.h"
#include "storage/SqliteRecordWriter.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryFile>

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <vector>

namespace wingman::storage {

namespace {

// Pages of the connection's cache (negative: KiB) while loading. Loading touches many pages;
// SQLite's 2 MiB default makes it read pages back repeatedly.
constexpr int kCacheKib = 64 * 1024;
// The same once the writer runs. Every commit ends with a walk over the whole page cache
// (pcache1's truncate: a B-tree split leaves a temporary page number far above the file's end
// behind as the cache's bound), so a large cache costs each commit more than it saves: at 64 MiB
// the walk was 16% of the writer's CPU in wingman-bench, at 8 MiB 3%.
constexpr int kWriteCacheKib = 8 * 1024;
// WAL pages between checkpoints (about 40 MiB). A checkpoint copies each changed page once, so
// rarer checkpoints copy hot pages fewer times (ack p99 fell from ~36 ms to ~13 ms in
// bench_storage against SQLite's default of 1000). SqliteCheckpointer runs them beside the
// writer; the writer checkpoints itself only when the WAL reaches kMaxWalPages (about 200 MiB).
constexpr int kCheckpointPages = 10000;
constexpr int kMaxWalPages = 5 * kCheckpointPages;

QString absolute(const QString &path)
{
    return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
}

sqlite3 *nativeHandle(QSqlDatabase &db)
{
    const QVariant handle = db.driver()->handle();
    if (!handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0)
        return nullptr;
    return *static_cast<sqlite3 *const *>(handle.constData());
}

// A prepared statement, finalized when it goes out of scope.
class Statement
{
public:
    Statement(sqlite3 *db, const char *sql)
    {
        sqlite3_prepare_v2(db, sql, -1, &m_statement, nullptr);
    }
    ~Statement() { sqlite3_finalize(m_statement); }
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;

    bool isValid() const { return m_statement != nullptr; }
    sqlite3_stmt *get() const { return m_statement; }

    QByteArrayView bytes(int column) const
    {
        const void *data = sqlite3_column_blob(m_statement, column);
        return { static_cast<const char *>(data), sqlite3_column_bytes(m_statement, column) };
    }
    QString text(int column) const
    {
        const auto *data = reinterpret_cast<const char *>(sqlite3_column_text(m_statement, column));
        return QString::fromUtf8(data, sqlite3_column_bytes(m_statement, column));
    }
    std::optional<qint64> optionalInt64(int column) const
    {
        if (sqlite3_column_type(m_statement, column) == SQLITE_NULL)
            return std::nullopt;
        return sqlite3_column_int64(m_statement, column);
    }

private:
    sqlite3_stmt *m_statement = nullptr;
};

} // namespace

SqliteStorage::SqliteStorage(const QString &path, Durability durability, QObject *parent)
    : SqlStorage(parent)
    , m_path(absolute(path))
    , m_durability(durability)
{
    // SQLite's allocation statistics take a global mutex on every allocation (Debian's build
    // has no lookaside), about 7% of the writer's CPU; nothing here reads them. The setting is
    // only accepted before SQLite's first use in the process and is refused harmlessly after.
    static std::once_flag once;
    std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

SqliteStorage::~SqliteStorage() = default;

QString SqliteStorage::describe() const
{
    return QStringLiteral("SQLite database %1").arg(m_path);
}

QString SqliteStorage::openConnection(QSqlDatabase &db)
{
    const QFileInfo info(m_path);
    const QString directory = info.absolutePath();
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(directory.toStdString()), error);
    if (error) {
        return QStringLiteral("cannot create directory %1 for the SQLite database: %2")
            .arg(directory, QString::fromStdString(error.message()));
    }
    if (info.exists() && !info.isFile())
        return QStringLiteral("%1 is not a database file").arg(m_path);

    // SQLite creates its -wal and -shm files beside the database, so the directory must take
    // new files even when the database exists.
    QTemporaryFile probe(QDir(directory).filePath(QStringLiteral(".wingman-probe-XXXXXX")));
    if (!probe.open()) {
        return QStringLiteral("cannot write to directory %1 for the SQLite database: %2")
            .arg(directory, probe.errorString());
    }
    probe.close();
    if (info.exists()) {
        QFile file(m_path);
        if (!file.open(QIODevice::ReadWrite)) {
            return QStringLiteral("cannot open SQLite database %1 for writing: %2")
                .arg(m_path, file.errorString());
        }
    }

    db.setDatabaseName(m_path);
    if (!db.open()) {
        return QStringLiteral("cannot open SQLite database %1: %2")
            .arg(m_path, errorText(db.lastError()));
    }
    QSqlQuery query(db);
    query.exec(QStringLiteral("PRAGMA cache_size=-%1").arg(kCacheKib)); // a hint; never fails
    return {};
}

QString SqliteStorage::checkIntegrity()
{
    static std::atomic<int> counter { 0 };
    const QString connection = QStringLiteral("wingman.storage.check.%1").arg(++counter);
    QString error;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connection);
        db.setDatabaseName(m_path);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        error = db.open() ? checkIntegrity(db)
                          : QStringLiteral("cannot open SQLite database %1: %2")
                                .arg(m_path, errorText(db.lastError()));
        db.close();
    }
    QSqlDatabase::removeDatabase(connection);
    return error;
}

QString SqliteStorage::checkIntegrity(QSqlDatabase &db)
{
    QSqlQuery query(db);
    // The first few problems say enough; quick_check skips only the index-to-table cross-check,
    // and these tables have no secondary indexes.
    if (!query.exec(QStringLiteral("PRAGMA quick_check(3)"))) {
        return QStringLiteral("SQLite database %1 is corrupt or not a database (%2); it was left "
                              "untouched")
            .arg(m_path, errorText(query.lastError()));
    }
    QStringList problems;
    while (query.next())
        problems.append(query.value(0).toString().simplified());
    if (problems != QStringList { QStringLiteral("ok") }) {
        return QStringLiteral("SQLite database %1 is corrupt (%2); it was left untouched")
            .arg(m_path,
                problems.isEmpty() ? QStringLiteral("integrity check returned nothing")
                                   : problems.join(QStringLiteral("; ")));
    }
    return {};
}

QString SqliteStorage::configureSession(QSqlDatabase &db)
{
    QSqlQuery query(db);
    if (!query.exec(QStringLiteral("PRAGMA journal_mode=WAL")) || !query.next()
        || query.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0) {
        return QStringLiteral("cannot switch SQLite database %1 to WAL mode: %2")
            .arg(m_path,
                query.lastError().isValid() ? errorText(query.lastError())
                                            : query.value(0).toString());
    }
    // secure_delete (on in Debian's build) zeroes freed content, which the record tables do not
    // need: the data stays in the file's live rows anyway.
    const QString synchronous
        = m_durability == Durability::Full ? QStringLiteral("FULL") : QStringLiteral("NORMAL");
    if (!query.exec(QStringLiteral("PRAGMA synchronous=%1").arg(synchronous))
        || !query.exec(QStringLiteral("PRAGMA secure_delete=OFF"))
        || !query.exec(QStringLiteral("PRAGMA wal_autocheckpoint=%1").arg(kCheckpointPages))) {
        return QStringLiteral("cannot configure SQLite database %1: %2")
            .arg(m_path, errorText(query.lastError()));
    }
    return {};
}

std::unique_ptr<GroupWriter> SqliteStorage::createGroupWriter(QSqlDatabase &db)
{
    sqlite3 *handle = nativeHandle(db);
    if (!handle)
        return SqlStorage::createGroupWriter(db);
    const QByteArray cache = "PRAGMA cache_size=-" + QByteArray::number(kWriteCacheKib);
    sqlite3_exec(handle, cache.constData(), nullptr, nullptr, nullptr); // a hint; never fails
    auto checkpointer
        = std::make_unique<SqliteCheckpointer>(m_path, kCheckpointPages, kMaxWalPages);
    checkpointer->attach(handle);
    return std::make_unique<SqliteRecordWriter>(handle, std::move(checkpointer));
}

QString SqliteStorage::loadRecords(QSqlDatabase &db, QHash<QString, StoredMap> *maps)
{
    sqlite3 *handle = nativeHandle(db);
    if (!handle)
        return SqlStorage::loadRecords(db, maps);
    const auto failed = [&](const char *what) {
        return QStringLiteral("cannot read %1 from %2: %3")
            .arg(QLatin1String(what), describe(), QString::fromUtf8(sqlite3_errmsg(handle)));
    };
    const auto undecodable = [&](const QString &map, const QString &key, const QString &why) {
        return QStringLiteral("the value of '%1' in map '%2' in %3 cannot be decoded: %4")
            .arg(key, map, describe(), why);
    };
    RepeatedText mapNames;
    RepeatedText nodeIds;

    Statement lww(handle,
        "SELECT map_name, record_key, millis, counter, node_id, ttl_ms, value "
        "FROM wingman_lww");
    if (!lww.isValid())
        return failed("records");
    int result = SQLITE_ROW;
    QString currentName;
    StoredMap *current = nullptr;
    // With a sink, records go out in chunks: big enough to keep the hand-over cheap, small enough
    // that the maps build while the rest is read.
    constexpr size_t kChunkRecords = 16384;
    const LwwLoadSink &sink = lwwLoadSink();
    std::vector<StoredLwwRecord> chunk;
    const auto handOver = [&] {
        if (!chunk.empty())
            sink(currentName, std::exchange(chunk, {}));
        chunk.reserve(kChunkRecords);
    };
    for (qint64 row = 1; (result = sqlite3_step(lww.get())) == SQLITE_ROW; ++row) {
        if ((row & 0xffff) == 0 && stopRequested())
            return QStringLiteral("closed while loading");
        const QString &mapName = mapNames(lww.bytes(0));
        QString why;
        std::optional<crdt::Value> value = decodeValue(lww.bytes(6).toByteArray(), &why);
        if (!value)
            return undecodable(mapName, lww.text(1), why);
        if (row == 1 || mapName != currentName) {
            if (sink)
                handOver();
            currentName = mapName;
            current = mapFor(maps, currentName, StoredMap::Kind::Lww);
        }
        if (!current)
            continue;
        StoredLwwRecord stored { lww.text(1),
            crdt::LwwRecord { std::move(*value),
                { sqlite3_column_int64(lww.get(), 2), sqlite3_column_int(lww.get(), 3),
                    nodeIds(lww.bytes(4)) },
                lww.optionalInt64(5) } };
        if (!sink) {
            current->lwwRecords.push_back(std::move(stored));
            continue;
        }
        chunk.push_back(std::move(stored));
        ++current->streamedLwwRecords;
        if (chunk.size() == kChunkRecords)
            handOver();
    }
    if (sink && result == SQLITE_DONE)
        handOver();
    if (result != SQLITE_DONE)
        return failed("records");

    Statement orRecords(handle,
        "SELECT map_name, tag, record_key, millis, counter, node_id, "
        "ttl_ms, value FROM wingman_or");
    if (!orRecords.isValid())
        return failed("OR-map records");
    while ((result = sqlite3_step(orRecords.get())) == SQLITE_ROW) {
        const QString &mapName = mapNames(orRecords.bytes(0));
        QString why;
        std::optional<crdt::Value> value = decodeValue(orRecords.bytes(7).toByteArray(), &why);
        if (!value)
            return undecodable(mapName, orRecords.text(2), why);
        StoredMap *map = mapFor(maps, mapName, StoredMap::Kind::Or);
        if (!map)
            continue;
        map->orRecords[orRecords.text(2)].append(crdt::OrRecord { std::move(*value),
            { sqlite3_column_int64(orRecords.get(), 3), sqlite3_column_int(orRecords.get(), 4),
                nodeIds(orRecords.bytes(5)) },
            orRecords.text(1), orRecords.optionalInt64(6) });
    }
    if (result != SQLITE_DONE)
        return failed("OR-map records");

    Statement tombstones(handle, "SELECT map_name, tag FROM wingman_or_tombstones");
    if (!tombstones.isValid())
        return failed("OR-map tombstones");
    while ((result = sqlite3_step(tombstones.get())) == SQLITE_ROW) {
        if (StoredMap *map = mapFor(maps, mapNames(tombstones.bytes(0)), StoredMap::Kind::Or))
            map->orTombstones.append(tombstones.text(1));
    }
    if (result != SQLITE_DONE)
        return failed("OR-map tombstones");
    return {};
}

} // namespace wingman::storage

#include "storage/PostgresStorage.h"

#include "storage/PostgresCopyReader.h"
#include "storage/PostgresRecordWriter.h"

#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>

#include <libpq-fe.h>

namespace wingman::storage {

namespace {

// An unreachable host fails startup after this long instead of libpq's default (forever).
constexpr int kConnectTimeoutSecs = 5;

// QPSQL's connection, or null when the driver does not expose it. Qt 6.4 names the type after
// the struct ("pg_conn*"); Qt's documentation, after the typedef.
PGconn *nativeHandle(QSqlDatabase &db)
{
    const QVariant handle = db.driver()->handle();
    if (!handle.isValid()
        || (qstrcmp(handle.typeName(), "pg_conn*") != 0
            && qstrcmp(handle.typeName(), "PGconn*") != 0)) {
        return nullptr;
    }
    return *static_cast<PGconn *const *>(handle.constData());
}

using Field = PostgresCopyReader::Field;

std::optional<qint64> optionalInt64(const Field &field)
{
    return field.isNull() ? std::nullopt : std::optional<qint64>(field.int64());
}

// The bigint and integer columns of a record row have their binary sizes.
bool wellTyped(const Field &millis, const Field &counter, const Field &ttl)
{
    return millis.size == 8 && counter.size == 4 && (ttl.isNull() || ttl.size == 8);
}

} // namespace

PostgresStorage::PostgresStorage(StorageUrl url, Durability durability, QObject *parent)
    : SqlStorage(parent)
    , m_url(std::move(url))
    , m_durability(durability)
{ }

PostgresStorage::~PostgresStorage() = default;

QString PostgresStorage::describe() const
{
    return QStringLiteral("PostgreSQL database %1").arg(m_url.postgresLocation());
}

QString PostgresStorage::openConnection(QSqlDatabase &db)
{
    db.setHostName(m_url.host);
    db.setPort(m_url.port);
    db.setDatabaseName(m_url.database);
    db.setUserName(m_url.user);
    db.setPassword(m_url.password);
    QStringList options = m_url.connectOptions;
    if (!std::any_of(options.cbegin(), options.cend(), [](const QString &option) {
            return option.startsWith(QLatin1String("connect_timeout="));
        })) {
        options.append(QStringLiteral("connect_timeout=%1").arg(kConnectTimeoutSecs));
    }
    db.setConnectOptions(options.join(u';'));
    if (db.open())
        return {};
    QString reason = errorText(db.lastError());
    if (!m_url.password.isEmpty())
        reason.replace(m_url.password, QStringLiteral("***"));
    return QStringLiteral("cannot connect to PostgreSQL at %1 as user '%2': %3")
        .arg(m_url.postgresLocation(), m_url.user, reason);
}

QString PostgresStorage::configureSession(QSqlDatabase &db)
{
    // CREATE TABLE IF NOT EXISTS would otherwise print a NOTICE to stderr through libpq.
    QSqlQuery query(db);
    const QString synchronous
        = m_durability == Durability::Full ? QStringLiteral("on") : QStringLiteral("off");
    if (!query.exec(QStringLiteral("SET client_min_messages TO WARNING"))
        || !query.exec(QStringLiteral("SET synchronous_commit TO %1").arg(synchronous))) {
        return QStringLiteral("cannot configure the session on %1: %2")
            .arg(describe(), errorText(query.lastError()));
    }
    return {};
}

QStringList PostgresStorage::migration(int fromVersion) const
{
    if (fromVersion != 1)
        return {};
    // Each changes the column's collation and rebuilds the primary key's index.
    const QString c = QStringLiteral("TYPE TEXT COLLATE \"C\"");
    return {
        QStringLiteral("ALTER TABLE wingman_meta ALTER COLUMN name %1").arg(c),
        QStringLiteral("ALTER TABLE wingman_lww ALTER COLUMN map_name %1, "
                       "ALTER COLUMN record_key %1")
            .arg(c),
        QStringLiteral("ALTER TABLE wingman_or ALTER COLUMN map_name %1, ALTER COLUMN tag %1")
            .arg(c),
        QStringLiteral("ALTER TABLE wingman_or_tombstones ALTER COLUMN map_name %1, "
                       "ALTER COLUMN tag %1")
            .arg(c),
    };
}

std::unique_ptr<GroupWriter> PostgresStorage::createGroupWriter(QSqlDatabase &db)
{
    PGconn *connection = nativeHandle(db);
    if (!connection)
        return SqlStorage::createGroupWriter(db);
    return std::make_unique<PostgresRecordWriter>(connection);
}

QString PostgresStorage::loadRecords(QSqlDatabase &db, QHash<QString, StoredMap> *maps)
{
    PGconn *connection = nativeHandle(db);
    if (!connection)
        return SqlStorage::loadRecords(db, maps);
    PostgresCopyReader reader(connection);
    // Row callbacks return a whole message; the reader's own errors get what was being read.
    const auto readTable = [&](const char *what, const QString &table, const QStringList &columns,
                               const std::function<QString(const std::vector<Field> &)> &read) {
        QString rowError;
        const QString error = reader.read(
            table, columns,
            [&](const std::vector<Field> &row) {
                rowError = read(row);
                return rowError;
            },
            [this] { return stopRequested(); });
        if (!rowError.isEmpty() || error.isEmpty())
            return rowError;
        return QStringLiteral("cannot read %1 from %2: %3")
            .arg(QLatin1String(what), describe(), error);
    };
    const auto undecodable = [&](const QString &map, const QString &key, const QString &why) {
        return QStringLiteral("the value of '%1' in map '%2' in %3 cannot be decoded: %4")
            .arg(key, map, describe(), why);
    };
    const auto unexpectedTypes = [&](const QString &table) {
        return QStringLiteral("cannot read %1 from %2: unexpected column types")
            .arg(table, describe());
    };
    RepeatedText mapNames;
    RepeatedText nodeIds;

    const QString lww = QStringLiteral("wingman_lww");
    QString error = readTable("records", lww,
        { QStringLiteral("map_name"), QStringLiteral("record_key"), QStringLiteral("millis"),
            QStringLiteral("counter"), QStringLiteral("node_id"), QStringLiteral("ttl_ms"),
            QStringLiteral("value") },
        [&](const std::vector<Field> &row) -> QString {
            if (!wellTyped(row[2], row[3], row[5]))
                return unexpectedTypes(lww);
            const QString &mapName = mapNames(row[0].bytes());
            QString why;
            std::optional<crdt::Value> value = decodeValue(row[6].bytes().toByteArray(), &why);
            if (!value)
                return undecodable(mapName, row[1].text(), why);
            if (StoredMap *map = mapFor(maps, mapName, StoredMap::Kind::Lww)) {
                map->lwwRecords.push_back({ row[1].text(),
                    crdt::LwwRecord { std::move(*value),
                        { row[2].int64(), row[3].int32(), nodeIds(row[4].bytes()) },
                        optionalInt64(row[5]) } });
            }
            return {};
        });
    if (!error.isEmpty())
        return error;

    const QString orTable = QStringLiteral("wingman_or");
    error = readTable("OR-map records", orTable,
        { QStringLiteral("map_name"), QStringLiteral("tag"), QStringLiteral("record_key"),
            QStringLiteral("millis"), QStringLiteral("counter"), QStringLiteral("node_id"),
            QStringLiteral("ttl_ms"), QStringLiteral("value") },
        [&](const std::vector<Field> &row) -> QString {
            if (!wellTyped(row[3], row[4], row[6]))
                return unexpectedTypes(orTable);
            const QString &mapName = mapNames(row[0].bytes());
            QString why;
            std::optional<crdt::Value> value = decodeValue(row[7].bytes().toByteArray(), &why);
            if (!value)
                return undecodable(mapName, row[2].text(), why);
            if (StoredMap *map = mapFor(maps, mapName, StoredMap::Kind::Or)) {
                map->orRecords[row[2].text()].append(crdt::OrRecord { std::move(*value),
                    { row[3].int64(), row[4].int32(), nodeIds(row[5].bytes()) }, row[1].text(),
                    optionalInt64(row[6]) });
            }
            return {};
        });
    if (!error.isEmpty())
        return error;

    return readTable("OR-map tombstones", QStringLiteral("wingman_or_tombstones"),
        { QStringLiteral("map_name"), QStringLiteral("tag") },
        [&](const std::vector<Field> &row) -> QString {
            if (StoredMap *map = mapFor(maps, mapNames(row[0].bytes()), StoredMap::Kind::Or))
                map->orTombstones.append(row[1].text());
            return {};
        });
}

} // namespace wingman::storage

#include "storage/PostgresStorage.h"

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

} // namespace wingman::storage

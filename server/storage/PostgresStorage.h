#pragma once

#include "storage/SqlStorage.h"
#include "storage/StorageUrl.h"

namespace wingman::storage {

// `--storage postgres://user:password@host:port/db`: the tables live in a PostgreSQL database.
// Qt's QPSQL connects (the URL's query items become libpq connect options) and checks the
// schema; loading (PostgresCopyReader) and the writer (PostgresRecordWriter) use libpq itself on
// that connection. Each
// group is one transaction. The session sets synchronous_commit: on with Durability::Full (the
// commit is flushed to the server's WAL before the ack, whatever the server's own default), off
// with Relaxed (the server may lose its last commits if it crashes). Messages name host, port,
// database and user, never the password.
//
// Schema version 2 gives the key columns the "C" collation: keys compare bytewise, as Wingman
// compares them, and the primary-key indexes cost no locale-aware comparisons. A version 1
// database (the database's default collation) is migrated at open.
class PostgresStorage : public SqlStorage
{
    Q_OBJECT
public:
    static constexpr int kSchemaVersion = 2;

    explicit PostgresStorage(
        StorageUrl url, Durability durability = Durability::Full, QObject *parent = nullptr);
    ~PostgresStorage() override;

protected:
    QString driverName() const override { return QStringLiteral("QPSQL"); }
    QString openConnection(QSqlDatabase &db) override;
    QString configureSession(QSqlDatabase &db) override;
    int schemaVersion() const override { return kSchemaVersion; }
    QStringList migration(int fromVersion) const override;
    QString blobType() const override { return QStringLiteral("BYTEA"); }
    QString keyType() const override { return QStringLiteral("TEXT COLLATE \"C\""); }
    QString describe() const override;
    std::unique_ptr<GroupWriter> createGroupWriter(QSqlDatabase &db) override;
    // Reads the tables through binary COPY on QPSQL's connection.
    QString loadRecords(QSqlDatabase &db, QHash<QString, StoredMap> *maps) override;

private:
    const StorageUrl m_url;
    const Durability m_durability;
};

} // namespace wingman::storage

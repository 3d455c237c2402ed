#pragma once

#include "storage/SqlStorage.h"
#include "storage/StorageUrl.h"

namespace wingman::storage {

// `--storage postgres://user:password@host:port/db`: the tables live in a PostgreSQL database
// (QPSQL). Each group is one transaction. The session sets synchronous_commit: on with
// Durability::Full (the commit is flushed to the server's WAL before the ack, whatever the
// server's own default), off with Relaxed (the server may lose its last commits if it crashes).
// Messages name host, port, database and user, never the password.
class PostgresStorage : public SqlStorage
{
    Q_OBJECT
public:
    explicit PostgresStorage(
        StorageUrl url, Durability durability = Durability::Full, QObject *parent = nullptr);
    ~PostgresStorage() override;

protected:
    QString driverName() const override { return QStringLiteral("QPSQL"); }
    QString openConnection(QSqlDatabase &db) override;
    QString configureSession(QSqlDatabase &db) override;
    QString blobType() const override { return QStringLiteral("BYTEA"); }
    QString describe() const override;

private:
    const StorageUrl m_url;
    const Durability m_durability;
};

} // namespace wingman::storage

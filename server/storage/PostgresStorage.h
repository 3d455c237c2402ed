#pragma once

#include "storage/SqlStorage.h"
#include "storage/StorageUrl.h"

namespace wingman::storage {

// `--storage postgres://user:password@host:port/db`: the tables live in a PostgreSQL database
// (QPSQL). Each group is one transaction, committed with the server's synchronous_commit setting
// (on by default: flushed to its WAL before the ack). Messages name host, port, database and
// user, never the password.
class PostgresStorage : public SqlStorage
{
    Q_OBJECT
public:
    explicit PostgresStorage(StorageUrl url, QObject *parent = nullptr);
    ~PostgresStorage() override;

protected:
    QString driverName() const override { return QStringLiteral("QPSQL"); }
    QString openConnection(QSqlDatabase &db) override;
    QString configureSession(QSqlDatabase &db) override;
    QString blobType() const override { return QStringLiteral("BYTEA"); }
    QString describe() const override;

private:
    const StorageUrl m_url;
};

} // namespace wingman::storage

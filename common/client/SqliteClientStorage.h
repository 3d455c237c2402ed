#pragma once

#include "client/ClientStorage.h"

#include <QSqlDatabase>

class QSqlQuery;

namespace wingman::client {

// ClientStorage in one SQLite file (Qt's QSQLITE driver, WAL mode). Each instance has its own
// connection name, so several clients can run in one process, each with its own file. Records
// are stored MessagePack-encoded in their wire form.
class SqliteClientStorage : public ClientStorage
{
public:
    explicit SqliteClientStorage(const QString &path);
    ~SqliteClientStorage() override;
    SqliteClientStorage(const SqliteClientStorage &) = delete;
    SqliteClientStorage &operator=(const SqliteClientStorage &) = delete;

    const QString &path() const { return m_path; }

    bool open() override;
    bool isOpen() const override { return m_db.isOpen(); }
    QString errorString() const override { return m_error; }
    void close();

    bool begin() override;
    bool commit() override;

    QString appendOp(const protocol::ClientOp &op) override;
    bool markOpSynced(const QString &id) override;
    bool removeOp(const QString &id) override;
    bool pruneSyncedOps() override;
    QList<protocol::ClientOp> unsyncedOps() const override;

    bool storeLwwRecord(
        const QString &mapName, const QString &key, const crdt::LwwRecord &record) override;
    bool removeLwwRecord(const QString &mapName, const QString &key) override;
    QHash<QString, crdt::LwwRecord> lwwRecords(const QString &mapName) const override;

    bool storeOrRecords(
        const QString &mapName, const QString &key, const QList<crdt::OrRecord> &records) override;
    QHash<QString, QList<crdt::OrRecord>> orRecords(const QString &mapName) const override;
    bool addOrTombstones(const QString &mapName, const QStringList &tags) override;
    bool removeOrTombstones(const QString &mapName, const QStringList &tags) override;
    QStringList orTombstones(const QString &mapName) const override;

    qint64 lastSyncTimestamp(const QString &mapName) const override;
    bool setLastSyncTimestamp(const QString &mapName, qint64 millis) override;

    bool clearMap(const QString &mapName) override;

private:
    // Runs a prepared statement; on failure records the reason and returns false.
    bool exec(QSqlQuery &query) const;
    bool exec(const QString &statement);
    QSqlQuery prepare(const QString &statement) const;
    bool fail(const QString &reason) const;

    QString m_path;
    QString m_connectionName;
    QSqlDatabase m_db;
    mutable QString m_error;
};

} // namespace wingman::client

#pragma once

#include "storage/SqlStorage.h"

namespace wingman::storage {

// `--storage sqlite:<path>`, the default: an embedded database file in WAL mode, created with
// its directory on first run. With Durability::Full (synchronous=FULL) each group commit syncs
// the WAL file before the ack. Relaxed (synchronous=NORMAL) leaves a committed transaction in the
// WAL file unsynced: it survives the server process being killed, only an operating system crash
// or power loss can take back the last transactions, and a commit costs no fsync (checkpoints
// still sync). Tables are WITHOUT ROWID: rows live in their primary-key b-tree, with no second
// index to keep.
class SqliteStorage : public SqlStorage
{
    Q_OBJECT
public:
    static constexpr int kSchemaVersion = 1;

    explicit SqliteStorage(
        const QString &path, Durability durability = Durability::Full, QObject *parent = nullptr);
    ~SqliteStorage() override;

    QString path() const { return m_path; }

protected:
    QString driverName() const override { return QStringLiteral("QSQLITE"); }
    QString openConnection(QSqlDatabase &db) override;
    QString checkIntegrity() override;
    bool ownsDatabase() const override { return true; }
    QString configureSession(QSqlDatabase &db) override;
    int schemaVersion() const override { return kSchemaVersion; }
    QString blobType() const override { return QStringLiteral("BLOB"); }
    QString tableOptions() const override { return QStringLiteral(" WITHOUT ROWID"); }
    QString describe() const override;
    QString checkIntegrity(QSqlDatabase &db);
    // Both through the sqlite3 C API on Qt's connection: they are the hot paths of writing and
    // of starting up, where Qt's per-value binding and QVariant columns cost more than SQLite.
    std::unique_ptr<GroupWriter> createGroupWriter(QSqlDatabase &db) override;
    QString loadRecords(QSqlDatabase &db, QHash<QString, StoredMap> *maps) override;

private:
    const QString m_path; // absolute
    const Durability m_durability;
};

} // namespace wingman::storage

#pragma once

#include "storage/GroupWriter.h"
#include "storage/SqliteCheckpointer.h"

#include <QByteArray>

#include <memory>

struct sqlite3;
struct sqlite3_stmt;

namespace wingman::storage {

// GroupWriter for SQLite through the sqlite3 C API on the connection Qt SQL opened
// (QSqlDriver::handle()): one prepared single-row statement per kind of write, executed in
// order. Qt's binding layer costs more per value than SQLite's insert itself, and the group
// commit is the server's write hot path.
class SqliteRecordWriter : public GroupWriter
{
public:
    // checkpointer, when given, is attached to db and detached before db's statements go.
    explicit SqliteRecordWriter(
        sqlite3 *db, std::unique_ptr<SqliteCheckpointer> checkpointer = nullptr);
    ~SqliteRecordWriter() override;

    QString commit(
        const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta) override;

private:
    enum Statement {
        Begin,
        Commit,
        Rollback,
        PutLww,
        DeleteLww,
        PutOr,
        DeleteOr,
        PutTombstone,
        DeleteTombstone,
        PutMeta,
        PutJournal,
        TrimJournal,
        StatementCount
    };

    enum TextSlot { MapName, Key, NodeId, Tag, TextSlotCount };

    QString prepare();
    // Binds text as UTF-8 (SQLite stores UTF-8; handing it UTF-16 costs a conversion per
    // value), kept in m_text[slot] until the step.
    void bindUtf8(sqlite3_stmt *statement, int index, const QString &text, TextSlot slot);
    QString apply(const StorageWrite &write);
    // Steps a statement whose parameters are bound, then resets it; an error line or empty.
    QString run(Statement statement);
    QString errorText() const;

    sqlite3 *m_db;
    std::unique_ptr<SqliteCheckpointer> m_checkpointer;
    sqlite3_stmt *m_statements[StatementCount] = {};
    bool m_prepared = false;
    // UTF-8 of the bound texts and the encoded value; they must live until the step.
    QByteArray m_text[TextSlotCount];
    QString m_source[TextSlotCount]; // what m_text holds, for the slots that repeat
    QByteArray m_value;
};

} // namespace wingman::storage

#pragma once

#include "storage/GroupWriter.h"

#include <QByteArray>
#include <QHash>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace wingman::storage {

// GroupWriter through Qt SQL, for any driver (PostgresStorage uses it). A group is first reduced
// to the final state of each row it touches (later writes win, as they would one by one), so
// that rows go out many per statement: each statement is a round trip to a database server, and
// PostgreSQL refuses a statement that upserts one row twice.
class SqlRecordWriter : public GroupWriter
{
public:
    explicit SqlRecordWriter(const QSqlDatabase &db);

    QString commit(
        const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta) override;

private:
    // A row of wingman_lww or wingman_or, or (remove) its deletion.
    struct RecordRow {
        QString mapName;
        QString id; // wingman_lww: the key; wingman_or: the tag
        QString key;
        crdt::Timestamp timestamp;
        std::optional<qint64> ttlMs;
        QByteArray value;
        bool remove = false;
    };
    struct TombstoneRow {
        QString mapName;
        QString id; // the tag
        bool remove = false;
    };
    enum class Statement { UpsertLww, UpsertOr, InsertTombstone, UpsertMeta, UpsertJournal };

    void add(const QList<StorageWrite> &writes);
    template <typename Row>
    static Row &rowFor(std::vector<Row> &rows, QHash<std::pair<QString, QString>, qsizetype> &index,
        const QString &mapName, const QString &id);
    QString writeRecords(
        const std::vector<RecordRow> &rows, Statement upsert, const QString &deleteSql);
    QString writeTombstones();
    // Runs a "DELETE … WHERE map_name = ? AND <id column> = ?" statement for one row.
    QString deleteRow(const QString &sql, const QString &mapName, const QString &id);
    QString writeMeta();
    // Appends first, then the trim: a trim never reaches an entry appended in the same group.
    QString writeJournal();
    static QString execute(QSqlQuery &query);
    static QString statementSql(Statement kind, int rows);
    // Statements are prepared on first use and kept; null (and *error) when preparing fails.
    QSqlQuery *prepared(Statement kind, int rows, QString *error);
    QSqlQuery *preparedDelete(const QString &sql, QString *error);
    void clear();

    QSqlDatabase m_db;
    std::vector<RecordRow> m_lww;
    std::vector<RecordRow> m_or;
    std::vector<TombstoneRow> m_tombstones;
    QHash<std::pair<QString, QString>, qsizetype> m_lwwIndex;
    QHash<std::pair<QString, QString>, qsizetype> m_orIndex;
    QHash<std::pair<QString, QString>, qsizetype> m_tombstoneIndex;
    QHash<QString, QString> m_meta;
    std::vector<const StorageWrite::JournalEntry *> m_journal;
    qint64 m_journalTrim = -1; // drop entries before this sequence; -1: none
    std::map<std::pair<Statement, int>, QSqlQuery> m_statements;
    std::map<QString, QSqlQuery> m_deletes;
};

} // namespace wingman::storage

#pragma once

#include "storage/GroupRows.h"

#include <QByteArray>
#include <QHash>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace wingman::storage {

// GroupWriter through Qt SQL, for any driver whose native handle is out of reach. A group is
// first reduced to GroupRows, so that rows go out many per statement.
class SqlRecordWriter : public GroupWriter
{
public:
    explicit SqlRecordWriter(const QSqlDatabase &db);

    QString commit(
        const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta) override;

private:
    using RecordRow = GroupRows::RecordRow;
    using TombstoneRow = GroupRows::TombstoneRow;
    enum class Statement { UpsertLww, UpsertOr, InsertTombstone, UpsertMeta, UpsertJournal };

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

    QSqlDatabase m_db;
    GroupRows m_rows;
    std::map<std::pair<Statement, int>, QSqlQuery> m_statements;
    std::map<QString, QSqlQuery> m_deletes;
};

} // namespace wingman::storage

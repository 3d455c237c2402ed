#include "storage/SqlRecordWriter.h"

#include "storage/SqlStorage.h"

#include <QSqlError>
#include <QStringList>

#include <bit>

namespace wingman::storage {

using namespace Qt::StringLiterals;

namespace {

// Rows per multi-row statement: 64 rows of 8 columns stay under SQLite's oldest bound-parameter
// limit (999); tails go out in power-of-two chunks so that few statements are ever prepared.
constexpr int kMaxRowsPerStatement = 64;

int chunkFor(qsizetype remaining)
{
    return int(std::bit_floor(quint32(std::min<qsizetype>(remaining, kMaxRowsPerStatement))));
}

} // namespace

SqlRecordWriter::SqlRecordWriter(const QSqlDatabase &db)
    : m_db(db)
{ }

QString SqlRecordWriter::commit(
    const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta)
{
    for (const QList<StorageWrite> *writes : groups)
        m_rows.add(*writes);
    m_rows.addMeta(meta);
    if (!m_db.transaction()) {
        m_rows.clear();
        return QStringLiteral("cannot begin a transaction: %1")
            .arg(SqlStorage::errorText(m_db.lastError()));
    }
    QString error = writeRecords(m_rows.lww(), Statement::UpsertLww,
        QStringLiteral("DELETE FROM wingman_lww WHERE map_name = ? AND record_key = ?"));
    if (error.isEmpty()) {
        error = writeRecords(m_rows.orRecords(), Statement::UpsertOr,
            QStringLiteral("DELETE FROM wingman_or WHERE map_name = ? AND tag = ?"));
    }
    if (error.isEmpty())
        error = writeTombstones();
    if (error.isEmpty())
        error = writeMeta();
    if (error.isEmpty())
        error = writeJournal();
    if (error.isEmpty() && !m_db.commit())
        error = QStringLiteral("commit failed: %1").arg(SqlStorage::errorText(m_db.lastError()));
    if (!error.isEmpty())
        m_db.rollback();
    m_rows.clear();
    return error;
}

QString SqlRecordWriter::deleteRow(const QString &sql, const QString &mapName, const QString &id)
{
    QString error;
    QSqlQuery *query = preparedDelete(sql, &error);
    if (!query)
        return error;
    query->bindValue(0, mapName);
    query->bindValue(1, id);
    return execute(*query);
}

QString SqlRecordWriter::writeRecords(
    const std::vector<RecordRow> &rows, Statement upsert, const QString &deleteSql)
{
    std::vector<const RecordRow *> puts;
    puts.reserve(rows.size());
    for (const RecordRow &row : rows) {
        if (!row.remove) {
            puts.push_back(&row);
            continue;
        }
        if (QString error = deleteRow(deleteSql, row.mapName, row.id); !error.isEmpty())
            return error;
    }

    const bool orRows = upsert == Statement::UpsertOr;
    for (size_t done = 0; done < puts.size();) {
        const int count = chunkFor(qsizetype(puts.size() - done));
        QString error;
        QSqlQuery *query = prepared(upsert, count, &error);
        if (!query)
            return error;
        int position = 0;
        for (int i = 0; i < count; ++i) {
            const RecordRow &row = *puts[done + size_t(i)];
            query->bindValue(position++, row.mapName);
            query->bindValue(position++, row.id);
            if (orRows)
                query->bindValue(position++, row.key);
            query->bindValue(position++, row.timestamp.millis);
            query->bindValue(position++, row.timestamp.counter);
            query->bindValue(position++, row.timestamp.nodeId);
            query->bindValue(position++,
                row.ttlMs ? QVariant(*row.ttlMs) : QVariant(QMetaType::fromType<qint64>()));
            query->bindValue(position++, row.value);
        }
        if (QString error = execute(*query); !error.isEmpty())
            return error;
        done += size_t(count);
    }
    return {};
}

QString SqlRecordWriter::writeTombstones()
{
    std::vector<const TombstoneRow *> inserts;
    const QString deleteSql
        = QStringLiteral("DELETE FROM wingman_or_tombstones WHERE map_name = ? AND tag = ?");
    for (const TombstoneRow &row : m_rows.tombstones()) {
        if (!row.remove) {
            inserts.push_back(&row);
            continue;
        }
        if (QString error = deleteRow(deleteSql, row.mapName, row.id); !error.isEmpty())
            return error;
    }
    for (size_t done = 0; done < inserts.size();) {
        const int count = chunkFor(qsizetype(inserts.size() - done));
        QString error;
        QSqlQuery *query = prepared(Statement::InsertTombstone, count, &error);
        if (!query)
            return error;
        for (int i = 0; i < count; ++i) {
            query->bindValue(2 * i, inserts[done + size_t(i)]->mapName);
            query->bindValue(2 * i + 1, inserts[done + size_t(i)]->id);
        }
        if (QString error = execute(*query); !error.isEmpty())
            return error;
        done += size_t(count);
    }
    return {};
}

QString SqlRecordWriter::writeMeta()
{
    for (auto it = m_rows.meta().cbegin(); it != m_rows.meta().cend(); ++it) {
        QString error;
        QSqlQuery *query = prepared(Statement::UpsertMeta, 1, &error);
        if (!query)
            return error;
        query->bindValue(0, it.key());
        query->bindValue(1, it.value());
        if (QString error = execute(*query); !error.isEmpty())
            return error;
    }
    return {};
}

QString SqlRecordWriter::writeJournal()
{
    const std::vector<const StorageWrite::JournalEntry *> &journal = m_rows.journal();
    for (size_t done = 0; done < journal.size();) {
        const int count = chunkFor(qsizetype(journal.size() - done));
        QString error;
        QSqlQuery *query = prepared(Statement::UpsertJournal, count, &error);
        if (!query)
            return error;
        for (int i = 0; i < count; ++i) {
            const StorageWrite::JournalEntry &entry = *journal[done + size_t(i)];
            query->bindValue(3 * i, entry.sequence);
            query->bindValue(3 * i + 1, entry.millis);
            query->bindValue(3 * i + 2, entry.events);
        }
        if (QString error = execute(*query); !error.isEmpty())
            return error;
        done += size_t(count);
    }
    if (m_rows.journalTrim() < 0)
        return {};
    QString error;
    QSqlQuery *trim
        = preparedDelete(QStringLiteral("DELETE FROM wingman_journal WHERE sequence < ?"), &error);
    if (!trim)
        return error;
    trim->bindValue(0, m_rows.journalTrim());
    return execute(*trim);
}

QString SqlRecordWriter::execute(QSqlQuery &query)
{
    return query.exec() ? QString() : SqlStorage::errorText(query.lastError());
}

QString SqlRecordWriter::statementSql(Statement kind, int rows)
{
    QLatin1StringView prefix;
    QLatin1StringView suffix;
    int columns = 2;
    switch (kind) {
    case Statement::UpsertLww:
        prefix = "INSERT INTO wingman_lww (map_name, record_key, millis, counter, node_id, "
                 "ttl_ms, value) VALUES "_L1;
        columns = 7;
        suffix = " ON CONFLICT (map_name, record_key) DO UPDATE SET millis = excluded.millis, "
                 "counter = excluded.counter, node_id = excluded.node_id, "
                 "ttl_ms = excluded.ttl_ms, value = excluded.value"_L1;
        break;
    case Statement::UpsertOr:
        prefix = "INSERT INTO wingman_or (map_name, tag, record_key, millis, counter, node_id, "
                 "ttl_ms, value) VALUES "_L1;
        columns = 8;
        suffix = " ON CONFLICT (map_name, tag) DO UPDATE SET record_key = excluded.record_key, "
                 "millis = excluded.millis, counter = excluded.counter, "
                 "node_id = excluded.node_id, ttl_ms = excluded.ttl_ms, "
                 "value = excluded.value"_L1;
        break;
    case Statement::InsertTombstone:
        prefix = "INSERT INTO wingman_or_tombstones (map_name, tag) VALUES "_L1;
        suffix = " ON CONFLICT (map_name, tag) DO NOTHING"_L1;
        break;
    case Statement::UpsertMeta:
        prefix = "INSERT INTO wingman_meta (name, value) VALUES "_L1;
        suffix = " ON CONFLICT (name) DO UPDATE SET value = excluded.value"_L1;
        break;
    case Statement::UpsertJournal:
        prefix = "INSERT INTO wingman_journal (sequence, millis, events) VALUES "_L1;
        columns = 3;
        suffix = " ON CONFLICT (sequence) DO UPDATE SET millis = excluded.millis, "
                 "events = excluded.events"_L1;
        break;
    }
    QString tuple = QStringLiteral("(?");
    for (int column = 1; column < columns; ++column)
        tuple += QStringLiteral(",?");
    tuple += u')';
    QStringList tuples;
    tuples.reserve(rows);
    for (int row = 0; row < rows; ++row)
        tuples.append(tuple);
    return prefix + tuples.join(u',') + suffix;
}

QSqlQuery *SqlRecordWriter::prepared(Statement kind, int rows, QString *error)
{
    const auto key = std::pair(kind, rows);
    auto it = m_statements.find(key);
    if (it != m_statements.end())
        return &it->second;
    QSqlQuery query(m_db);
    if (!query.prepare(statementSql(kind, rows))) {
        *error = SqlStorage::errorText(query.lastError());
        return nullptr;
    }
    return &m_statements.emplace(key, std::move(query)).first->second;
}

QSqlQuery *SqlRecordWriter::preparedDelete(const QString &sql, QString *error)
{
    auto it = m_deletes.find(sql);
    if (it != m_deletes.end())
        return &it->second;
    QSqlQuery query(m_db);
    if (!query.prepare(sql)) {
        *error = SqlStorage::errorText(query.lastError());
        return nullptr;
    }
    return &m_deletes.emplace(sql, std::move(query)).first->second;
}

} // namespace wingman::storage

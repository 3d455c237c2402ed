#include "storage/SqliteRecordWriter.h"

#include "storage/SqlStorage.h"

#include <sqlite3.h>

namespace wingman::storage {

namespace {

// In the order of SqliteRecordWriter::Statement.
const char *const kSql[] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT OR REPLACE INTO wingman_lww (map_name, record_key, millis, counter, node_id, ttl_ms, "
    "value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "DELETE FROM wingman_lww WHERE map_name = ?1 AND record_key = ?2",
    "INSERT OR REPLACE INTO wingman_or (map_name, tag, record_key, millis, counter, node_id, "
    "ttl_ms, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "DELETE FROM wingman_or WHERE map_name = ?1 AND tag = ?2",
    "INSERT OR IGNORE INTO wingman_or_tombstones (map_name, tag) VALUES (?1, ?2)",
    "DELETE FROM wingman_or_tombstones WHERE map_name = ?1 AND tag = ?2",
    "INSERT OR REPLACE INTO wingman_meta (name, value) VALUES (?1, ?2)",
    "INSERT OR REPLACE INTO wingman_journal (sequence, millis, events) VALUES (?1, ?2, ?3)",
    "DELETE FROM wingman_journal WHERE sequence < ?1",
};

// The QString outlives the step, so SQLite may use its UTF-16 in place.
void bindText(sqlite3_stmt *statement, int index, const QString &text)
{
    sqlite3_bind_text16(statement, index, text.utf16(), int(text.size() * 2), SQLITE_STATIC);
}

// Puts text's UTF-8 into buffer, reusing its allocation for ASCII text (nearly all names, keys
// and node ids).
void toUtf8(const QString &text, QByteArray &buffer)
{
    const qsizetype size = text.size();
    buffer.resize(size);
    char *out = buffer.data();
    const ushort *in = text.utf16();
    for (qsizetype i = 0; i < size; ++i) {
        if (in[i] >= 0x80) {
            buffer = text.toUtf8();
            return;
        }
        out[i] = char(in[i]);
    }
}

void bindTtl(sqlite3_stmt *statement, int index, const std::optional<qint64> &ttlMs)
{
    if (ttlMs)
        sqlite3_bind_int64(statement, index, *ttlMs);
    else
        sqlite3_bind_null(statement, index);
}

} // namespace

SqliteRecordWriter::SqliteRecordWriter(
    sqlite3 *db, std::unique_ptr<SqliteCheckpointer> checkpointer)
    : m_db(db)
    , m_checkpointer(std::move(checkpointer))
{ }

SqliteRecordWriter::~SqliteRecordWriter()
{
    m_checkpointer.reset();
    for (sqlite3_stmt *statement : m_statements)
        sqlite3_finalize(statement);
}

QString SqliteRecordWriter::errorText() const
{
    return QString::fromUtf8(sqlite3_errmsg(m_db));
}

QString SqliteRecordWriter::prepare()
{
    for (int i = 0; i < StatementCount; ++i) {
        if (sqlite3_prepare_v3(
                m_db, kSql[i], -1, SQLITE_PREPARE_PERSISTENT, &m_statements[i], nullptr)
            != SQLITE_OK) {
            return QStringLiteral("cannot prepare '%1': %2")
                .arg(QLatin1String(kSql[i]), errorText());
        }
    }
    m_prepared = true;
    return {};
}

void SqliteRecordWriter::bindUtf8(
    sqlite3_stmt *statement, int index, const QString &text, TextSlot slot)
{
    // Map names and node ids repeat from write to write: converted once while they do.
    const bool repeats = slot == MapName || slot == NodeId;
    if (!repeats || text != m_source[slot]) {
        toUtf8(text, m_text[slot]);
        if (repeats)
            m_source[slot] = text;
    }
    const QByteArray &utf8 = m_text[slot];
    sqlite3_bind_text(statement, index, utf8.constData(), int(utf8.size()), SQLITE_STATIC);
}

QString SqliteRecordWriter::run(Statement statement)
{
    sqlite3_stmt *handle = m_statements[statement];
    const int result = sqlite3_step(handle);
    sqlite3_reset(handle);
    return result == SQLITE_DONE ? QString() : errorText();
}

QString SqliteRecordWriter::apply(const StorageWrite &write)
{
    using Kind = StorageWrite::Kind;
    switch (write.kind) {
    case Kind::LwwPut: {
        sqlite3_stmt *statement = m_statements[PutLww];
        m_value = SqlStorage::encodeValue(write.lww.value);
        bindUtf8(statement, 1, write.mapName, MapName);
        bindUtf8(statement, 2, write.key, Key);
        sqlite3_bind_int64(statement, 3, write.lww.timestamp.millis);
        sqlite3_bind_int(statement, 4, write.lww.timestamp.counter);
        bindUtf8(statement, 5, write.lww.timestamp.nodeId, NodeId);
        bindTtl(statement, 6, write.lww.ttlMs);
        sqlite3_bind_blob(statement, 7, m_value.constData(), int(m_value.size()), SQLITE_STATIC);
        return run(PutLww);
    }
    case Kind::LwwDelete:
        bindText(m_statements[DeleteLww], 1, write.mapName);
        bindText(m_statements[DeleteLww], 2, write.key);
        return run(DeleteLww);
    case Kind::OrPut: {
        sqlite3_stmt *statement = m_statements[PutOr];
        const crdt::OrRecord &record = write.orRecord;
        m_value = SqlStorage::encodeValue(record.value);
        bindUtf8(statement, 1, write.mapName, MapName);
        bindUtf8(statement, 2, record.tag, Tag);
        bindUtf8(statement, 3, write.key, Key);
        sqlite3_bind_int64(statement, 4, record.timestamp.millis);
        sqlite3_bind_int(statement, 5, record.timestamp.counter);
        bindUtf8(statement, 6, record.timestamp.nodeId, NodeId);
        bindTtl(statement, 7, record.ttlMs);
        sqlite3_bind_blob(statement, 8, m_value.constData(), int(m_value.size()), SQLITE_STATIC);
        return run(PutOr);
    }
    case Kind::OrTombstone: {
        bindText(m_statements[DeleteOr], 1, write.mapName);
        bindText(m_statements[DeleteOr], 2, write.tag);
        if (QString error = run(DeleteOr); !error.isEmpty())
            return error;
        bindText(m_statements[PutTombstone], 1, write.mapName);
        bindText(m_statements[PutTombstone], 2, write.tag);
        return run(PutTombstone);
    }
    case Kind::OrDeleteTombstone:
        bindText(m_statements[DeleteTombstone], 1, write.mapName);
        bindText(m_statements[DeleteTombstone], 2, write.tag);
        return run(DeleteTombstone);
    case Kind::JournalAppend: {
        sqlite3_stmt *statement = m_statements[PutJournal];
        const QByteArray &events = write.journal.events;
        sqlite3_bind_int64(statement, 1, write.journal.sequence);
        sqlite3_bind_int64(statement, 2, write.journal.millis);
        sqlite3_bind_blob(statement, 3, events.constData(), int(events.size()), SQLITE_STATIC);
        return run(PutJournal);
    }
    case Kind::JournalTrim:
        sqlite3_bind_int64(m_statements[TrimJournal], 1, write.journal.sequence);
        return run(TrimJournal);
    }
    return {};
}

QString SqliteRecordWriter::commit(
    const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta)
{
    if (!m_prepared) {
        if (QString error = prepare(); !error.isEmpty())
            return error;
    }
    if (QString error = run(Begin); !error.isEmpty())
        return QStringLiteral("cannot begin a transaction: %1").arg(error);
    QString error;
    for (const QList<StorageWrite> *writes : groups) {
        for (const StorageWrite &write : *writes) {
            error = apply(write);
            if (!error.isEmpty())
                break;
        }
        if (!error.isEmpty())
            break;
    }
    for (auto it = meta.cbegin(); error.isEmpty() && it != meta.cend(); ++it) {
        bindText(m_statements[PutMeta], 1, it->first);
        bindText(m_statements[PutMeta], 2, it->second);
        error = run(PutMeta);
    }
    if (error.isEmpty()) {
        error = run(Commit);
        if (error.isEmpty())
            return {};
        error = QStringLiteral("commit failed: %1").arg(error);
    }
    run(Rollback);
    return error;
}

} // namespace wingman::storage

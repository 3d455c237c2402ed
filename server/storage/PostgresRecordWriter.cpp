#include "storage/PostgresRecordWriter.h"

#include <QRegularExpression>
#include <QtEndian>

#include <libpq-fe.h>

#include <map>

namespace wingman::storage {

namespace {

// Element types (PostgreSQL's pg_type OIDs), which a binary array names in its header.
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kInt4 = 23;
constexpr Oid kText = 25;

// In the order of PostgresRecordWriter::Statement. The deletes name "C", the key columns'
// collation, so that the primary keys' indexes serve them whatever the parameters' collation.
const char *const kNames[] = {
    "wingman_delete_lww",
    "wingman_put_lww",
    "wingman_delete_or",
    "wingman_put_or",
    "wingman_delete_tombstone",
    "wingman_put_tombstone",
    "wingman_put_meta",
    "wingman_put_journal",
    "wingman_trim_journal",
};
const char *const kSql[] = {
    "DELETE FROM wingman_lww AS t USING unnest($1::text[], $2::text[]) AS d(map_name, id) "
    "WHERE t.map_name = d.map_name COLLATE \"C\" AND t.record_key = d.id COLLATE \"C\"",
    "INSERT INTO wingman_lww (map_name, record_key, millis, counter, node_id, ttl_ms, value) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int4[], $5::text[], "
    "$6::int8[], $7::bytea[]) ON CONFLICT (map_name, record_key) DO UPDATE SET "
    "millis = excluded.millis, counter = excluded.counter, node_id = excluded.node_id, "
    "ttl_ms = excluded.ttl_ms, value = excluded.value",
    "DELETE FROM wingman_or AS t USING unnest($1::text[], $2::text[]) AS d(map_name, id) "
    "WHERE t.map_name = d.map_name COLLATE \"C\" AND t.tag = d.id COLLATE \"C\"",
    "INSERT INTO wingman_or (map_name, tag, record_key, millis, counter, node_id, ttl_ms, value) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int4[], "
    "$6::text[], $7::int8[], $8::bytea[]) ON CONFLICT (map_name, tag) DO UPDATE SET "
    "record_key = excluded.record_key, millis = excluded.millis, counter = excluded.counter, "
    "node_id = excluded.node_id, ttl_ms = excluded.ttl_ms, value = excluded.value",
    "DELETE FROM wingman_or_tombstones AS t USING unnest($1::text[], $2::text[]) "
    "AS d(map_name, id) WHERE t.map_name = d.map_name COLLATE \"C\" AND t.tag = d.id COLLATE "
    "\"C\"",
    "INSERT INTO wingman_or_tombstones (map_name, tag) SELECT * FROM unnest($1::text[], "
    "$2::text[]) ON CONFLICT (map_name, tag) DO NOTHING",
    "INSERT INTO wingman_meta (name, value) SELECT * FROM unnest($1::text[], $2::text[]) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    "INSERT INTO wingman_journal (sequence, millis, events) SELECT * FROM unnest($1::int8[], "
    "$2::int8[], $3::bytea[]) ON CONFLICT (sequence) DO UPDATE SET millis = excluded.millis, "
    "events = excluded.events",
    "DELETE FROM wingman_journal WHERE sequence < $1::int8",
};
static_assert(std::size(kNames) == std::size(kSql));

template <typename T> void appendBigEndian(QByteArray &data, T value)
{
    const T big = qToBigEndian(value);
    data.append(reinterpret_cast<const char *>(&big), sizeof big);
}

QString oneLine(const char *message)
{
    static const QRegularExpression whitespace(QStringLiteral("\\s+"));
    return QString::fromUtf8(message).replace(whitespace, QStringLiteral(" ")).trimmed();
}

// A one-dimensional array parameter in PostgreSQL's binary format: a header (one dimension, a
// has-nulls flag, the element type, the length and lower bound 1), then each element as its
// byte length (-1: null) and bytes.
class BinaryArray
{
public:
    explicit BinaryArray(Oid elementType)
        : m_elementType(elementType)
    {
        m_data.resize(kHeaderBytes);
    }

    void text(const QString &text)
    {
        const qsizetype lengthAt = m_data.size();
        appendBigEndian(m_data, qint32(0));
        const qsizetype start = m_data.size();
        const qsizetype size = text.size();
        // Names, keys and node ids are nearly always ASCII: copied without a conversion.
        m_data.resize(start + size);
        char *out = m_data.data() + start;
        const ushort *in = text.utf16();
        for (qsizetype i = 0; i < size; ++i) {
            if (in[i] >= 0x80) {
                m_data.resize(start);
                m_data.append(text.toUtf8());
                break;
            }
            out[i] = char(in[i]);
        }
        qToBigEndian(qint32(m_data.size() - start), m_data.data() + lengthAt);
        ++m_count;
    }
    void bytes(const QByteArray &bytes)
    {
        appendBigEndian(m_data, qint32(bytes.size()));
        m_data.append(bytes);
        ++m_count;
    }
    void int64(qint64 value)
    {
        appendBigEndian(m_data, qint32(sizeof value));
        appendBigEndian(m_data, value);
        ++m_count;
    }
    void int32(qint32 value)
    {
        appendBigEndian(m_data, qint32(sizeof value));
        appendBigEndian(m_data, value);
        ++m_count;
    }
    void optionalInt64(const std::optional<qint64> &value)
    {
        if (value) {
            int64(*value);
            return;
        }
        appendBigEndian(m_data, qint32(-1));
        m_hasNull = true;
        ++m_count;
    }

    QByteArray take()
    {
        char *header = m_data.data();
        qToBigEndian(qint32(1), header);
        qToBigEndian(qint32(m_hasNull ? 1 : 0), header + 4);
        qToBigEndian(quint32(m_elementType), header + 8);
        qToBigEndian(qint32(m_count), header + 12);
        qToBigEndian(qint32(1), header + 16);
        return std::move(m_data);
    }

private:
    static constexpr qsizetype kHeaderBytes = 20;

    Oid m_elementType;
    QByteArray m_data;
    qint32 m_count = 0;
    bool m_hasNull = false;
};

} // namespace

PostgresRecordWriter::PostgresRecordWriter(pg_conn *connection)
    : m_connection(connection)
{ }

PostgresRecordWriter::~PostgresRecordWriter() = default;

QString PostgresRecordWriter::connectionError() const
{
    return oneLine(PQerrorMessage(m_connection));
}

QString PostgresRecordWriter::prepare()
{
    for (int &i = m_preparedCount; i < StatementCount; ++i) {
        PGresult *result = PQprepare(m_connection, kNames[i], kSql[i], 0, nullptr);
        const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
        const QString error = ok ? QString() : oneLine(PQresultErrorMessage(result));
        PQclear(result);
        if (!ok)
            return QStringLiteral("cannot prepare '%1': %2").arg(QLatin1String(kSql[i]), error);
    }
    return {};
}

bool PostgresRecordWriter::send(Statement statement, const std::vector<QByteArray> &params)
{
    // After a failed send nothing more goes out, COMMIT included: the group is not committed.
    if (m_sendFailed)
        return false;
    std::vector<const char *> values;
    std::vector<int> lengths;
    const std::vector<int> formats(params.size(), 1);
    values.reserve(params.size());
    lengths.reserve(params.size());
    for (const QByteArray &param : params) {
        values.push_back(param.constData());
        lengths.push_back(int(param.size()));
    }
    m_sendFailed = PQsendQueryPrepared(m_connection, kNames[statement], int(params.size()),
                       values.data(), lengths.data(), formats.data(), 0)
        != 1;
    return !m_sendFailed;
}

bool PostgresRecordWriter::sendCommand(const char *sql)
{
    if (m_sendFailed)
        return false;
    m_sendFailed
        = PQsendQueryParams(m_connection, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1;
    return !m_sendFailed;
}

void PostgresRecordWriter::sendRecords(
    const std::vector<GroupRows::RecordRow> &rows, Statement remove, Statement put, bool orRows)
{
    BinaryArray removedMaps(kText);
    BinaryArray removedIds(kText);
    BinaryArray maps(kText);
    BinaryArray ids(kText);
    BinaryArray keys(kText);
    BinaryArray millis(kInt8);
    BinaryArray counters(kInt4);
    BinaryArray nodeIds(kText);
    BinaryArray ttls(kInt8);
    BinaryArray values(kBytea);
    bool removes = false;
    bool puts = false;
    for (const GroupRows::RecordRow &row : rows) {
        if (row.remove) {
            removedMaps.text(row.mapName);
            removedIds.text(row.id);
            removes = true;
            continue;
        }
        maps.text(row.mapName);
        ids.text(row.id);
        if (orRows)
            keys.text(row.key);
        millis.int64(row.timestamp.millis);
        counters.int32(row.timestamp.counter);
        nodeIds.text(row.timestamp.nodeId);
        ttls.optionalInt64(row.ttlMs);
        values.bytes(row.value);
        puts = true;
    }
    if (removes)
        send(remove, { removedMaps.take(), removedIds.take() });
    if (!puts)
        return;
    if (orRows) {
        send(put,
            { maps.take(), ids.take(), keys.take(), millis.take(), counters.take(), nodeIds.take(),
                ttls.take(), values.take() });
    } else {
        send(put,
            { maps.take(), ids.take(), millis.take(), counters.take(), nodeIds.take(), ttls.take(),
                values.take() });
    }
}

void PostgresRecordWriter::sendTombstones()
{
    BinaryArray removedMaps(kText);
    BinaryArray removedTags(kText);
    BinaryArray maps(kText);
    BinaryArray tags(kText);
    bool removes = false;
    bool puts = false;
    for (const GroupRows::TombstoneRow &row : m_rows.tombstones()) {
        if (row.remove) {
            removedMaps.text(row.mapName);
            removedTags.text(row.id);
            removes = true;
        } else {
            maps.text(row.mapName);
            tags.text(row.id);
            puts = true;
        }
    }
    if (removes)
        send(DeleteTombstone, { removedMaps.take(), removedTags.take() });
    if (puts)
        send(PutTombstone, { maps.take(), tags.take() });
}

void PostgresRecordWriter::sendMeta()
{
    const QHash<QString, QString> &meta = m_rows.meta();
    if (meta.isEmpty())
        return;
    BinaryArray names(kText);
    BinaryArray values(kText);
    for (auto it = meta.cbegin(); it != meta.cend(); ++it) {
        names.text(it.key());
        values.text(it.value());
    }
    send(PutMeta, { names.take(), values.take() });
}

void PostgresRecordWriter::sendJournal()
{
    // One row per sequence, as one statement may upsert a row only once; the last append wins,
    // as it would one by one.
    std::map<qint64, const StorageWrite::JournalEntry *> entries;
    for (const StorageWrite::JournalEntry *entry : m_rows.journal())
        entries[entry->sequence] = entry;
    if (!entries.empty()) {
        BinaryArray sequences(kInt8);
        BinaryArray millis(kInt8);
        BinaryArray events(kBytea);
        for (const auto &[sequence, entry] : entries) {
            sequences.int64(sequence);
            millis.int64(entry->millis);
            events.bytes(entry->events);
        }
        send(PutJournal, { sequences.take(), millis.take(), events.take() });
    }
    if (m_rows.journalTrim() >= 0) {
        QByteArray sequence;
        appendBigEndian(sequence, qint64(m_rows.journalTrim()));
        send(TrimJournal, { sequence });
    }
}

QString PostgresRecordWriter::collect()
{
    QString error;
    int nulls = 0;
    for (;;) {
        PGresult *result = PQgetResult(m_connection);
        if (!result) {
            // One null ends each statement's results; two in a row mean nothing more is coming
            // (the connection broke before the sync).
            if (++nulls > 1)
                return error.isEmpty() ? connectionError() : error;
            continue;
        }
        nulls = 0;
        const ExecStatusType status = PQresultStatus(result);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_PIPELINE_SYNC
            && status != PGRES_PIPELINE_ABORTED && error.isEmpty()) {
            error = oneLine(PQresultErrorMessage(result));
        }
        PQclear(result);
        if (status == PGRES_PIPELINE_SYNC)
            return error;
    }
}

QString PostgresRecordWriter::commit(
    const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta)
{
    if (QString error = prepare(); !error.isEmpty())
        return error;
    if (PQenterPipelineMode(m_connection) != 1)
        return QStringLiteral("cannot enter pipeline mode: %1").arg(connectionError());
    for (const QList<StorageWrite> *writes : groups)
        m_rows.add(*writes);
    m_rows.addMeta(meta);
    m_sendFailed = false;
    sendCommand("BEGIN");
    sendRecords(m_rows.lww(), DeleteLww, PutLww, false);
    sendRecords(m_rows.orRecords(), DeleteOr, PutOr, true);
    sendTombstones();
    sendMeta();
    sendJournal();
    sendCommand("COMMIT");
    m_rows.clear();

    QString error = m_sendFailed ? connectionError() : QString();
    if (PQpipelineSync(m_connection) == 1) {
        if (QString collected = collect(); error.isEmpty())
            error = collected;
    } else if (error.isEmpty()) {
        error = connectionError();
    }
    PQexitPipelineMode(m_connection);
    // A failed statement leaves the transaction open and aborted; so does a COMMIT never sent.
    if (PQtransactionStatus(m_connection) != PQTRANS_IDLE) {
        if (error.isEmpty())
            error = QStringLiteral("the transaction did not commit");
        PQclear(PQexec(m_connection, "ROLLBACK"));
    }
    return error;
}

} // namespace wingman::storage

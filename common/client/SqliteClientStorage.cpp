#include "client/SqliteClientStorage.h"

#include "client/ClientLogging.h"
#include "protocol/Wire.h"

#include <QCborArray>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <QVariant>

namespace wingman::client {

using namespace Qt::StringLiterals;

namespace {

const char *const kSchema[] = {
    "CREATE TABLE IF NOT EXISTS op_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, op BLOB NOT NULL, "
    "synced INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS lww_records (map TEXT NOT NULL, key TEXT NOT NULL, "
    "record BLOB NOT NULL, PRIMARY KEY (map, key))",
    "CREATE TABLE IF NOT EXISTS or_records (map TEXT NOT NULL, key TEXT NOT NULL, "
    "records BLOB NOT NULL, PRIMARY KEY (map, key))",
    "CREATE TABLE IF NOT EXISTS or_tombstones (map TEXT NOT NULL, tag TEXT NOT NULL, "
    "PRIMARY KEY (map, tag))",
    "CREATE TABLE IF NOT EXISTS map_meta (map TEXT PRIMARY KEY, last_sync INTEGER NOT NULL)",
};

std::optional<QCborValue> decode(const QVariant &blob)
{
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(blob.toByteArray());
    if (!decoded.ok)
        return std::nullopt;
    return decoded.value;
}

QByteArray encodeOrRecords(const QList<crdt::OrRecord> &records)
{
    QCborArray array;
    for (const crdt::OrRecord &record : records)
        array.append(protocol::orRecordToCbor(record));
    return wire::MsgPackCodec::encode(array);
}

} // namespace

SqliteClientStorage::SqliteClientStorage(const QString &path)
    : m_path(path)
    , m_connectionName(u"wingman.client."_s + QUuid::createUuid().toString(QUuid::WithoutBraces))
{ }

SqliteClientStorage::~SqliteClientStorage()
{
    close();
}

bool SqliteClientStorage::open()
{
    if (m_db.isOpen())
        return true;
    if (!m_db.isValid())
        m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connectionName);
    m_db.setDatabaseName(m_path);
    if (!m_db.open())
        return fail(u"cannot open %1: %2"_s.arg(m_path, m_db.lastError().text()));
    // WAL with synchronous=NORMAL stays durable across a process crash at a fraction of the
    // cost of a sync per write; busy_timeout lets a restarted client wait for its predecessor.
    if (!exec(u"PRAGMA journal_mode=WAL"_s) || !exec(u"PRAGMA synchronous=NORMAL"_s)
        || !exec(u"PRAGMA busy_timeout=5000"_s)) {
        m_db.close();
        return false;
    }
    for (const char *statement : kSchema) {
        if (!exec(QString::fromLatin1(statement))) {
            m_db.close();
            return false;
        }
    }
    return true;
}

void SqliteClientStorage::close()
{
    if (!m_db.isValid())
        return;
    m_db.close();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
}

bool SqliteClientStorage::begin()
{
    return m_db.transaction() || fail(u"begin: "_s + m_db.lastError().text());
}

bool SqliteClientStorage::commit()
{
    return m_db.commit() || fail(u"commit: "_s + m_db.lastError().text());
}

QString SqliteClientStorage::appendOp(const protocol::ClientOp &op)
{
    protocol::ClientOp stored = op;
    stored.id.reset();
    QSqlQuery query = prepare(u"INSERT INTO op_log (op) VALUES (?)"_s);
    query.addBindValue(wire::MsgPackCodec::encode(stored.toCbor()));
    if (!exec(query))
        return {};
    return QString::number(query.lastInsertId().toLongLong());
}

bool SqliteClientStorage::markOpSynced(const QString &id)
{
    QSqlQuery query = prepare(u"UPDATE op_log SET synced = 1 WHERE seq = ?"_s);
    query.addBindValue(id.toLongLong());
    return exec(query);
}

bool SqliteClientStorage::removeOp(const QString &id)
{
    QSqlQuery query = prepare(u"DELETE FROM op_log WHERE seq = ?"_s);
    query.addBindValue(id.toLongLong());
    return exec(query);
}

bool SqliteClientStorage::pruneSyncedOps()
{
    return exec(u"DELETE FROM op_log WHERE synced = 1"_s);
}

QList<protocol::ClientOp> SqliteClientStorage::unsyncedOps() const
{
    QSqlQuery query = prepare(u"SELECT seq, op FROM op_log WHERE synced = 0 ORDER BY seq"_s);
    QList<protocol::ClientOp> ops;
    if (!exec(query))
        return ops;
    while (query.next()) {
        const QString id = QString::number(query.value(0).toLongLong());
        const std::optional<QCborValue> value = decode(query.value(1));
        std::optional<protocol::ClientOp> op;
        if (value)
            op = protocol::ClientOp::fromCbor(value->toMap());
        if (!op) {
            qCWarning(lcClient) << "skipping unreadable op" << id << "in" << m_path;
            continue;
        }
        op->id = id;
        ops.append(std::move(*op));
    }
    return ops;
}

bool SqliteClientStorage::storeLwwRecord(
    const QString &mapName, const QString &key, const crdt::LwwRecord &record)
{
    QSqlQuery query
        = prepare(u"INSERT OR REPLACE INTO lww_records (map, key, record) VALUES (?, ?, ?)"_s);
    query.addBindValue(mapName);
    query.addBindValue(key);
    query.addBindValue(wire::MsgPackCodec::encode(protocol::lwwRecordToCbor(record)));
    return exec(query);
}

bool SqliteClientStorage::removeLwwRecord(const QString &mapName, const QString &key)
{
    QSqlQuery query = prepare(u"DELETE FROM lww_records WHERE map = ? AND key = ?"_s);
    query.addBindValue(mapName);
    query.addBindValue(key);
    return exec(query);
}

QHash<QString, crdt::LwwRecord> SqliteClientStorage::lwwRecords(const QString &mapName) const
{
    QSqlQuery query = prepare(u"SELECT key, record FROM lww_records WHERE map = ?"_s);
    query.addBindValue(mapName);
    QHash<QString, crdt::LwwRecord> records;
    if (!exec(query))
        return records;
    while (query.next()) {
        const QString key = query.value(0).toString();
        const std::optional<QCborValue> value = decode(query.value(1));
        std::optional<crdt::LwwRecord> record;
        if (value)
            record = protocol::lwwRecordFromCbor(*value);
        if (!record) {
            qCWarning(lcClient) << "skipping unreadable record" << mapName << key << "in" << m_path;
            continue;
        }
        records.insert(key, std::move(*record));
    }
    return records;
}

bool SqliteClientStorage::storeOrRecords(
    const QString &mapName, const QString &key, const QList<crdt::OrRecord> &records)
{
    QSqlQuery query = prepare(records.isEmpty()
            ? u"DELETE FROM or_records WHERE map = ? AND key = ?"_s
            : u"INSERT OR REPLACE INTO or_records (map, key, records) VALUES (?, ?, ?)"_s);
    query.addBindValue(mapName);
    query.addBindValue(key);
    if (!records.isEmpty())
        query.addBindValue(encodeOrRecords(records));
    return exec(query);
}

QHash<QString, QList<crdt::OrRecord>> SqliteClientStorage::orRecords(const QString &mapName) const
{
    QSqlQuery query = prepare(u"SELECT key, records FROM or_records WHERE map = ?"_s);
    query.addBindValue(mapName);
    QHash<QString, QList<crdt::OrRecord>> result;
    if (!exec(query))
        return result;
    while (query.next()) {
        const QString key = query.value(0).toString();
        const std::optional<QCborValue> value = decode(query.value(1));
        if (!value || !value->isArray()) {
            qCWarning(lcClient) << "skipping unreadable records" << mapName << key << "in"
                                << m_path;
            continue;
        }
        QList<crdt::OrRecord> records;
        for (const QCborValue &item : value->toArray()) {
            if (std::optional<crdt::OrRecord> record = protocol::orRecordFromCbor(item))
                records.append(std::move(*record));
        }
        result.insert(key, records);
    }
    return result;
}

bool SqliteClientStorage::addOrTombstones(const QString &mapName, const QStringList &tags)
{
    if (tags.isEmpty())
        return true;
    QSqlQuery query = prepare(u"INSERT OR IGNORE INTO or_tombstones (map, tag) VALUES (?, ?)"_s);
    query.addBindValue(QVariantList(tags.size(), mapName));
    query.addBindValue(QVariantList(tags.begin(), tags.end()));
    return query.execBatch() || fail(query.lastError().text());
}

bool SqliteClientStorage::removeOrTombstones(const QString &mapName, const QStringList &tags)
{
    if (tags.isEmpty())
        return true;
    QSqlQuery query = prepare(u"DELETE FROM or_tombstones WHERE map = ? AND tag = ?"_s);
    query.addBindValue(QVariantList(tags.size(), mapName));
    query.addBindValue(QVariantList(tags.begin(), tags.end()));
    return query.execBatch() || fail(query.lastError().text());
}

QStringList SqliteClientStorage::orTombstones(const QString &mapName) const
{
    QSqlQuery query = prepare(u"SELECT tag FROM or_tombstones WHERE map = ? ORDER BY tag"_s);
    query.addBindValue(mapName);
    QStringList tags;
    if (!exec(query))
        return tags;
    while (query.next())
        tags.append(query.value(0).toString());
    return tags;
}

qint64 SqliteClientStorage::lastSyncTimestamp(const QString &mapName) const
{
    QSqlQuery query = prepare(u"SELECT last_sync FROM map_meta WHERE map = ?"_s);
    query.addBindValue(mapName);
    if (!exec(query) || !query.next())
        return 0;
    return query.value(0).toLongLong();
}

bool SqliteClientStorage::setLastSyncTimestamp(const QString &mapName, qint64 millis)
{
    QSqlQuery query = prepare(u"INSERT OR REPLACE INTO map_meta (map, last_sync) VALUES (?, ?)"_s);
    query.addBindValue(mapName);
    query.addBindValue(millis);
    return exec(query);
}

bool SqliteClientStorage::clearMap(const QString &mapName)
{
    for (const QString &table :
        { u"lww_records"_s, u"or_records"_s, u"or_tombstones"_s, u"map_meta"_s }) {
        QSqlQuery query = prepare(u"DELETE FROM %1 WHERE map = ?"_s.arg(table));
        query.addBindValue(mapName);
        if (!exec(query))
            return false;
    }
    return true;
}

bool SqliteClientStorage::exec(QSqlQuery &query) const
{
    if (query.exec())
        return true;
    return fail(query.lastError().text());
}

bool SqliteClientStorage::exec(const QString &statement)
{
    QSqlQuery query(m_db);
    if (query.exec(statement))
        return true;
    return fail(statement + u": "_s + query.lastError().text());
}

QSqlQuery SqliteClientStorage::prepare(const QString &statement) const
{
    QSqlQuery query(m_db);
    query.prepare(statement);
    return query;
}

bool SqliteClientStorage::fail(const QString &reason) const
{
    m_error = reason;
    qCWarning(lcClient) << "client storage" << m_path << reason;
    return false;
}

} // namespace wingman::client

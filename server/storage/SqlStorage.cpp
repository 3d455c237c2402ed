#include "storage/SqlStorage.h"

#include "protocol/Wire.h"
#include "storage/GroupWriter.h"
#include "storage/SqlRecordWriter.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>

#include <atomic>
#include <future>

namespace wingman::storage {

namespace {

const QString kSchemaVersionKey = QStringLiteral("schemaVersion");

QString nextConnectionName()
{
    static std::atomic<int> counter { 0 };
    return QStringLiteral("wingman.storage.%1").arg(++counter);
}

} // namespace

SqlStorage::SqlStorage(QObject *parent)
    : Storage(parent)
    , m_connectionName(nextConnectionName())
{ }

SqlStorage::~SqlStorage()
{
    // The done callbacks may point into objects already gone: dropped, not run.
    if (m_thread) {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        m_thread->wait();
    }
}

QString SqlStorage::errorText(const QSqlError &error)
{
    QString text = error.databaseText().isEmpty() ? error.text() : error.databaseText();
    static const QRegularExpression whitespace(QStringLiteral("\\s+"));
    return text.replace(whitespace, QStringLiteral(" ")).trimmed();
}

QByteArray SqlStorage::encodeValue(const crdt::Value &value)
{
    return value.packed();
}

// The codec's default bounds: a value that passed a client frame's limits passes these. The
// value stays packed: only its shape is checked here.
std::optional<crdt::Value> SqlStorage::decodeValue(QByteArray bytes, QString *error)
{
    const qsizetype size = wire::MsgPackCodec::valueSize(bytes);
    if (size != bytes.size()) {
        *error = size < 0 ? QStringLiteral("not well-formed MessagePack")
                          : QStringLiteral("%1 bytes after the value").arg(bytes.size() - size);
        return std::nullopt;
    }
    return crdt::Value::fromPacked(std::move(bytes));
}

StoredMap *SqlStorage::mapFor(
    QHash<QString, StoredMap> *maps, const QString &name, StoredMap::Kind kind)
{
    const auto it = maps->find(name);
    if (it == maps->end()) {
        StoredMap &map = (*maps)[name];
        map.kind = kind;
        return &map;
    }
    return it->kind == kind ? &*it : nullptr;
}

std::unique_ptr<GroupWriter> SqlStorage::createGroupWriter(QSqlDatabase &db)
{
    return std::make_unique<SqlRecordWriter>(db);
}

QString SqlStorage::checkIntegrity()
{
    return {};
}

QString SqlStorage::configureSession(QSqlDatabase &)
{
    return {};
}

QStringList SqlStorage::migration(int) const
{
    return {};
}

void SqlStorage::open()
{
    if (m_state != State::Idle)
        return;
    m_state = State::Opening;
    m_thread.reset(QThread::create([this] { run(); }));
    m_thread->setObjectName(QStringLiteral("wingman-storage"));
    m_thread->start();
}

void SqlStorage::close()
{
    if (m_thread) {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        m_thread->wait();
        m_thread.reset();
    } else {
        std::lock_guard lock(m_mutex);
        for (Submission &submission : m_queue)
            m_completed.emplace_back(std::move(submission.done),
                QStringLiteral("%1 was closed before it opened").arg(describe()));
        m_queue.clear();
    }
    if (m_state != State::Failed)
        m_state = State::Closed;
    deliverCompleted();
}

void SqlStorage::write(QList<StorageWrite> writes, Done done)
{
    if (m_state == State::Failed || m_state == State::Closed) {
        const QString error = QStringLiteral("%1 is not open").arg(describe());
        QMetaObject::invokeMethod(
            this,
            [done = std::move(done), error] {
                if (done)
                    done(error);
            },
            Qt::QueuedConnection);
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back({ std::move(writes), std::move(done) });
    }
    m_wake.notify_one();
}

QHash<QString, StoredMap> SqlStorage::loadAll()
{
    return std::exchange(m_loaded, {});
}

QList<StoredJournalEntry> SqlStorage::loadJournal()
{
    return std::exchange(m_loadedJournal, {});
}

QString SqlStorage::loadMeta(const QString &key)
{
    return m_meta.value(key);
}

void SqlStorage::storeMeta(const QString &key, const QString &value)
{
    m_meta.insert(key, value);
    if (m_state == State::Failed || m_state == State::Closed)
        return;
    {
        std::lock_guard lock(m_mutex);
        m_pendingMeta.emplace_back(key, value);
    }
    m_wake.notify_one();
}

bool SqlStorage::stopRequested()
{
    std::lock_guard lock(m_mutex);
    return m_stop;
}

void SqlStorage::run()
{
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(driverName(), m_connectionName);
        Loaded loaded;
        const QString error = openDatabase(db, &loaded);
        const bool ok = error.isEmpty();
        QMetaObject::invokeMethod(
            this,
            [this, ok, error, loaded = std::move(loaded)]() mutable {
                finishOpen(ok, error, std::move(loaded));
            },
            Qt::QueuedConnection);
        if (ok) {
            writeLoop(db);
        } else {
            // Nothing queued can be committed now; each caller hears why.
            std::lock_guard lock(m_mutex);
            for (Submission &submission : m_queue)
                m_completed.emplace_back(std::move(submission.done), error);
            m_queue.clear();
            m_pendingMeta.clear();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connectionName);
    QMetaObject::invokeMethod(this, &SqlStorage::deliverCompleted, Qt::QueuedConnection);
}

QString SqlStorage::openDatabase(QSqlDatabase &db, Loaded *loaded)
{
    QElapsedTimer timer;
    timer.start();
    if (!db.isValid())
        return QStringLiteral("the Qt SQL driver %1 is not available").arg(driverName());
    if (QString error = openConnection(db); !error.isEmpty())
        return error;

    // The integrity check reads the whole database, as loading does: they run side by side, and
    // nothing is written (not even the journal mode) until both have passed.
    std::future<QString> integrity = std::async(std::launch::async, [this, loaded] {
        QElapsedTimer checkTimer;
        checkTimer.start();
        QString error = checkIntegrity();
        loaded->checkMs = checkTimer.elapsed();
        return error;
    });
    bool exists = false;
    int version = 0;
    QString error = checkSchema(db, &exists, &version);
    if (error.isEmpty() && exists)
        error = loadEverything(db, loaded);
    if (QString integrityError = integrity.get(); !integrityError.isEmpty())
        return integrityError;
    if (error.isEmpty())
        error = configureSession(db);
    if (error.isEmpty() && !exists)
        error = createSchema(db);
    if (error.isEmpty() && exists && version < schemaVersion()) {
        error = migrateSchema(db, version);
        loaded->meta.insert(kSchemaVersionKey, QString::number(schemaVersion()));
    }
    if (error.isEmpty())
        error = createJournalTable(db);
    loaded->totalMs = timer.elapsed();
    return error;
}

QString SqlStorage::checkSchema(QSqlDatabase &db, bool *exists, int *version)
{
    const QStringList tables = db.tables();
    *exists = tables.contains(QStringLiteral("wingman_meta"));
    if (!*exists) {
        if (ownsDatabase() && !tables.isEmpty()) {
            return QStringLiteral("%1 is not a Wingman database (it has tables %2); it was left "
                                  "untouched")
                .arg(describe(), tables.join(QStringLiteral(", ")));
        }
        return {};
    }
    QSqlQuery query(db);
    query.prepare(QStringLiteral("SELECT value FROM wingman_meta WHERE name = ?"));
    query.addBindValue(kSchemaVersionKey);
    if (!query.exec()) {
        return QStringLiteral("cannot read the schema version of %1: %2")
            .arg(describe(), errorText(query.lastError()));
    }
    if (!query.next())
        return QStringLiteral("%1 has no schema version; it was left untouched").arg(describe());
    bool ok = false;
    *version = query.value(0).toString().toInt(&ok);
    if (!ok || *version < 1) {
        return QStringLiteral("%1 has an unreadable schema version '%2'")
            .arg(describe(), query.value(0).toString());
    }
    if (*version > schemaVersion()) {
        return QStringLiteral("%1: database schema version %2 is newer than this server "
                              "supports (%3)")
            .arg(describe())
            .arg(*version)
            .arg(schemaVersion());
    }
    return {};
}

QString SqlStorage::createSchema(QSqlDatabase &db)
{
    const QString blob = blobType();
    const QString options = tableOptions();
    const QString key = keyType();
    const QStringList statements = {
        QStringLiteral("CREATE TABLE IF NOT EXISTS wingman_meta (name %1 NOT NULL PRIMARY KEY, "
                       "value TEXT NOT NULL)")
            .arg(key),
        QStringLiteral("CREATE TABLE IF NOT EXISTS wingman_lww (map_name %1 NOT NULL, "
                       "record_key %1 NOT NULL, millis BIGINT NOT NULL, counter INTEGER NOT "
                       "NULL, node_id TEXT NOT NULL, ttl_ms BIGINT, value %2 NOT NULL, "
                       "PRIMARY KEY (map_name, record_key))%3")
            .arg(key, blob, options),
        QStringLiteral("CREATE TABLE IF NOT EXISTS wingman_or (map_name %1 NOT NULL, tag %1 "
                       "NOT NULL, record_key TEXT NOT NULL, millis BIGINT NOT NULL, counter "
                       "INTEGER NOT NULL, node_id TEXT NOT NULL, ttl_ms BIGINT, value %2 NOT NULL, "
                       "PRIMARY KEY (map_name, tag))%3")
            .arg(key, blob, options),
        QStringLiteral("CREATE TABLE IF NOT EXISTS wingman_or_tombstones (map_name %1 NOT NULL, "
                       "tag %1 NOT NULL, PRIMARY KEY (map_name, tag))%2")
            .arg(key, options),
    };
    if (!db.transaction())
        return QStringLiteral("cannot write to %1: %2").arg(describe(), errorText(db.lastError()));
    QSqlQuery query(db);
    for (const QString &statement : statements) {
        if (!query.exec(statement)) {
            const QString error = errorText(query.lastError());
            db.rollback();
            return QStringLiteral("cannot create the tables of %1: %2").arg(describe(), error);
        }
    }
    query.prepare(QStringLiteral("INSERT INTO wingman_meta (name, value) VALUES (?, ?)"));
    query.addBindValue(kSchemaVersionKey);
    query.addBindValue(QString::number(schemaVersion()));
    if (!query.exec() || !db.commit()) {
        const QString error
            = errorText(query.lastError().isValid() ? query.lastError() : db.lastError());
        db.rollback();
        return QStringLiteral("cannot create the tables of %1: %2").arg(describe(), error);
    }
    return {};
}

QString SqlStorage::migrateSchema(QSqlDatabase &db, int fromVersion)
{
    const QStringList statements = migration(fromVersion);
    if (statements.isEmpty()) {
        return QStringLiteral("%1: database schema version %2 cannot be migrated to %3")
            .arg(describe())
            .arg(fromVersion)
            .arg(schemaVersion());
    }
    const auto failed = [&](const QSqlError &error) {
        const QString text = errorText(error);
        db.rollback();
        return QStringLiteral("cannot migrate %1 from schema version %2 to %3: %4")
            .arg(describe())
            .arg(fromVersion)
            .arg(schemaVersion())
            .arg(text);
    };
    if (!db.transaction())
        return failed(db.lastError());
    QSqlQuery query(db);
    for (const QString &statement : statements) {
        if (!query.exec(statement))
            return failed(query.lastError());
    }
    query.prepare(QStringLiteral("UPDATE wingman_meta SET value = ? WHERE name = ?"));
    query.addBindValue(QString::number(schemaVersion()));
    query.addBindValue(kSchemaVersionKey);
    if (!query.exec())
        return failed(query.lastError());
    if (!db.commit())
        return failed(db.lastError());
    qCInfo(lcStorage).noquote() << QStringLiteral("migrated %1 from schema version %2 to %3")
                                       .arg(describe())
                                       .arg(fromVersion)
                                       .arg(schemaVersion());
    return {};
}

QString SqlStorage::createJournalTable(QSqlDatabase &db)
{
    QSqlQuery query(db);
    if (!query.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS wingman_journal (sequence BIGINT "
                                   "NOT NULL PRIMARY KEY, millis BIGINT NOT NULL, events %1 NOT "
                                   "NULL)%2")
                        .arg(blobType(), tableOptions()))) {
        return QStringLiteral("cannot create the journal table of %1: %2")
            .arg(describe(), errorText(query.lastError()));
    }
    return {};
}

QString SqlStorage::loadJournal(QSqlDatabase &db, QList<StoredJournalEntry> *journal)
{
    if (!db.tables().contains(QStringLiteral("wingman_journal")))
        return {};
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral(
            "SELECT sequence, millis, events FROM wingman_journal ORDER BY sequence"))) {
        return QStringLiteral("cannot read the event journal from %1: %2")
            .arg(describe(), errorText(query.lastError()));
    }
    while (query.next()) {
        journal->append({ query.value(0).toLongLong(), query.value(1).toLongLong(),
            query.value(2).toByteArray() });
    }
    if (query.lastError().isValid()) {
        return QStringLiteral("cannot read the event journal from %1: %2")
            .arg(describe(), errorText(query.lastError()));
    }
    return {};
}

QString SqlStorage::loadEverything(QSqlDatabase &db, Loaded *loaded)
{
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT name, value FROM wingman_meta"))) {
        return QStringLiteral("cannot read metadata from %1: %2")
            .arg(describe(), errorText(query.lastError()));
    }
    while (query.next())
        loaded->meta.insert(query.value(0).toString(), query.value(1).toString());
    if (QString error = loadJournal(db, &loaded->journal); !error.isEmpty())
        return error;
    return loadRecords(db, &loaded->maps);
}

QString SqlStorage::loadRecords(QSqlDatabase &db, QHash<QString, StoredMap> *maps)
{
    QSqlQuery query(db);
    query.setForwardOnly(true);
    const auto failed = [&](const char *what) {
        return QStringLiteral("cannot read %1 from %2: %3")
            .arg(QLatin1String(what), describe(), errorText(query.lastError()));
    };
    const auto undecodable = [&](const QString &map, const QString &key, const QString &why) {
        return QStringLiteral("the value of '%1' in map '%2' in %3 cannot be decoded: %4")
            .arg(key, map, describe(), why);
    };
    const auto readTimestamp = [&](int first) {
        return crdt::Timestamp { query.value(first).toLongLong(), query.value(first + 1).toInt(),
            query.value(first + 2).toString() };
    };
    const auto readTtl = [&](int column) {
        const QVariant ttl = query.value(column);
        return ttl.isNull() ? std::nullopt : std::optional<qint64>(ttl.toLongLong());
    };

    if (!query.exec(QStringLiteral("SELECT map_name, record_key, millis, counter, node_id, "
                                   "ttl_ms, value FROM wingman_lww")))
        return failed("records");
    for (qint64 row = 1; query.next(); ++row) {
        if ((row & 0xffff) == 0 && stopRequested())
            return QStringLiteral("closed while loading");
        const QString mapName = query.value(0).toString();
        const QString key = query.value(1).toString();
        QString why;
        std::optional<crdt::Value> value = decodeValue(query.value(6).toByteArray(), &why);
        if (!value)
            return undecodable(mapName, key, why);
        if (StoredMap *map = mapFor(maps, mapName, StoredMap::Kind::Lww))
            map->lwwRecords.push_back(
                { key, crdt::LwwRecord { std::move(*value), readTimestamp(2), readTtl(5) } });
    }
    if (query.lastError().isValid())
        return failed("records");

    if (!query.exec(QStringLiteral("SELECT map_name, tag, record_key, millis, counter, node_id, "
                                   "ttl_ms, value FROM wingman_or")))
        return failed("OR-map records");
    while (query.next()) {
        const QString mapName = query.value(0).toString();
        const QString key = query.value(2).toString();
        QString why;
        std::optional<crdt::Value> value = decodeValue(query.value(7).toByteArray(), &why);
        if (!value)
            return undecodable(mapName, key, why);
        if (StoredMap *map = mapFor(maps, mapName, StoredMap::Kind::Or))
            map->orRecords[key].append(crdt::OrRecord {
                std::move(*value), readTimestamp(3), query.value(1).toString(), readTtl(6) });
    }
    if (query.lastError().isValid())
        return failed("OR-map records");

    if (!query.exec(QStringLiteral("SELECT map_name, tag FROM wingman_or_tombstones")))
        return failed("OR-map tombstones");
    while (query.next()) {
        if (StoredMap *map = mapFor(maps, query.value(0).toString(), StoredMap::Kind::Or))
            map->orTombstones.append(query.value(1).toString());
    }
    if (query.lastError().isValid())
        return failed("OR-map tombstones");
    return {};
}

void SqlStorage::writeLoop(QSqlDatabase &db)
{
    const std::unique_ptr<GroupWriter> writer = createGroupWriter(db);
    for (;;) {
        std::vector<Submission> group;
        GroupWriter::Meta meta;
        bool stop = false;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(
                lock, [this] { return !m_queue.empty() || !m_pendingMeta.empty() || m_stop; });
            group.swap(m_queue);
            meta.swap(m_pendingMeta);
            stop = m_stop;
        }
        if (!group.empty() || !meta.empty()) {
            std::vector<const QList<StorageWrite> *> writes;
            writes.reserve(group.size());
            for (const Submission &submission : group)
                writes.push_back(&submission.writes);
            QString error = writer->commit(writes, meta);
            if (!error.isEmpty()) {
                error = QStringLiteral("%1: %2").arg(describe(), error);
                qCCritical(lcStorage).noquote() << "commit failed:" << error;
            }
            {
                std::lock_guard lock(m_mutex);
                for (Submission &submission : group)
                    m_completed.emplace_back(std::move(submission.done), error);
            }
            QMetaObject::invokeMethod(this, &SqlStorage::deliverCompleted, Qt::QueuedConnection);
        }
        if (stop) {
            // close() waits for this: everything queued before it has been taken above, and
            // nothing is queued after it.
            std::lock_guard lock(m_mutex);
            if (m_queue.empty() && m_pendingMeta.empty())
                return;
        }
    }
}

void SqlStorage::finishOpen(bool ok, const QString &error, Loaded loaded)
{
    if (m_state != State::Opening)
        return;
    if (!ok) {
        m_state = State::Failed;
        qCCritical(lcStorage).noquote() << error;
        Q_EMIT failed(error);
        return;
    }
    m_state = State::Open;
    m_loaded = std::move(loaded.maps);
    m_loadedJournal = std::move(loaded.journal);
    // Values stored before the open finished win over what the database had.
    for (auto it = loaded.meta.cbegin(); it != loaded.meta.cend(); ++it) {
        if (!m_meta.contains(it.key()))
            m_meta.insert(it.key(), it.value());
    }
    qsizetype records = 0;
    for (const StoredMap &map : std::as_const(m_loaded))
        records += qsizetype(map.lwwRecords.size()) + map.streamedLwwRecords + map.orRecords.size()
            + map.orTombstones.size();
    qCInfo(lcStorage).noquote() << QStringLiteral(
        "opened %1: %2 maps, %3 records and tombstones in %4 ms "
        "(integrity check %5 ms)")
                                       .arg(describe())
                                       .arg(m_loaded.size())
                                       .arg(records)
                                       .arg(loaded.totalMs)
                                       .arg(loaded.checkMs);
    Q_EMIT opened();
}

void SqlStorage::deliverCompleted()
{
    std::vector<std::pair<Done, QString>> completed;
    {
        std::lock_guard lock(m_mutex);
        completed.swap(m_completed);
    }
    for (auto &[done, error] : completed) {
        if (done)
            done(error);
    }
}

} // namespace wingman::storage

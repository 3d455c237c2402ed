#pragma once

#include "storage/Storage.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <QByteArrayView>
#include <optional>

class QSqlDatabase;
class QSqlError;
class QThread;

namespace wingman::storage {

class GroupWriter;

// Storage in a SQL database through Qt SQL; SqliteStorage and PostgresStorage supply the
// connection and the dialect. One writer thread owns the connection: open() connects, checks
// the schema and loads everything there, so the event loop stays free while a large database
// loads; write() only queues. The writer takes everything queued, commits it as one transaction
// (group commit) and hands the done callbacks back to this object's thread in submission order.
//
// Tables: wingman_meta (name, value; "schemaVersion" among them), wingman_lww (one row per
// map and key), wingman_or (one row per map and tag), wingman_or_tombstones (map, tag) and
// wingman_journal (the event journal: one row per commit's entries, keyed by the last one's
// sequence). Each backend numbers its own schema versions; a database of an older version is
// migrated at open, once it has loaded. A record's value is kept as its MessagePack encoding
// (values are arbitrary MessagePack) and loads as a packed crdt::Value, undecoded; its timestamp
// and TTL are columns, so GC can select by them.
class SqlStorage : public Storage
{
    Q_OBJECT
public:
    ~SqlStorage() override;

    void open() override;
    // Commits everything queued, stops the writer, then runs the remaining done callbacks.
    void close() override;
    bool isOpen() const override { return m_state == State::Open; }
    bool isDurable() const override { return true; }
    void write(QList<StorageWrite> writes, Done done) override;
    // What open() loaded; the first call takes it, later calls return nothing.
    QHash<QString, StoredMap> loadAll() override;
    // What open() loaded; the first call takes it.
    QList<StoredJournalEntry> loadJournal() override;
    QString loadMeta(const QString &key) override;
    // Takes effect at once for loadMeta() and is committed with the next group.
    void storeMeta(const QString &key, const QString &value) override;

    // The database's error text on one line.
    static QString errorText(const QSqlError &error);
    // A record value as stored, and back.
    static QByteArray encodeValue(const crdt::Value &value);
    static std::optional<crdt::Value> decodeValue(QByteArray bytes, QString *error);
    // The map to load name's records into: created with kind when new; null when the name was
    // loaded as the other kind (a database only another program could have written).
    static StoredMap *mapFor(
        QHash<QString, StoredMap> *maps, const QString &name, StoredMap::Kind kind);

protected:
    // Text columns that repeat from row to row while loading (map names, node ids) become one
    // shared QString.
    class RepeatedText
    {
    public:
        const QString &operator()(QByteArrayView utf8)
        {
            if (!m_valid || utf8 != QByteArrayView(m_utf8)) {
                m_utf8 = utf8.toByteArray();
                m_text = QString::fromUtf8(m_utf8);
                m_valid = true;
            }
            return m_text;
        }

    private:
        QByteArray m_utf8;
        QString m_text;
        bool m_valid = false;
    };

    explicit SqlStorage(QObject *parent = nullptr);

    // The hooks below run on the writer thread (checkIntegrity() on a helper thread beside it):
    // they may read the subclass's settings, which never change after construction, and
    // nothing else of it.

    virtual QString driverName() const = 0;
    // Sets up db (already added under the driver) and opens it; an error line or empty.
    virtual QString openConnection(QSqlDatabase &db) = 0;
    // Read-only checks that the database is sound. Runs on a thread of its own, beside the
    // loading, so it uses a connection of its own.
    virtual QString checkIntegrity();
    // True when the whole database is Wingman's, so foreign tables mean a wrong file.
    virtual bool ownsDatabase() const { return false; }
    // Session settings made once the schema version is known to be ours and the database sound;
    // the first that may write.
    virtual QString configureSession(QSqlDatabase &db);
    // The schema version this backend creates and writes.
    virtual int schemaVersion() const = 0;
    // The statements that bring a database of schema version fromVersion to schemaVersion(),
    // run in one transaction with the version's update; none when there is no way.
    virtual QStringList migration(int fromVersion) const;
    virtual QString blobType() const = 0;
    // The type of the key columns: map names, keys, tags and metadata names.
    virtual QString keyType() const { return QStringLiteral("TEXT"); }
    // Appended to CREATE TABLE of the record tables.
    virtual QString tableOptions() const { return {}; }
    // How messages name the database ("SQLite database /data/x.db").
    virtual QString describe() const = 0;
    // The writer of groups; by default one through Qt SQL.
    virtual std::unique_ptr<GroupWriter> createGroupWriter(QSqlDatabase &db);
    // Reads every record and tombstone into maps; an error line or empty. By default through
    // Qt SQL. Long loads should give up when stopRequested().
    virtual QString loadRecords(QSqlDatabase &db, QHash<QString, StoredMap> *maps);
    bool stopRequested();

private:
    enum class State { Idle, Opening, Open, Failed, Closed };

    struct Submission {
        QList<StorageWrite> writes;
        Done done;
    };
    struct Loaded {
        QHash<QString, StoredMap> maps;
        QHash<QString, QString> meta;
        QList<StoredJournalEntry> journal;
        qint64 checkMs = 0; // integrity check
        qint64 totalMs = 0; // connect, check and load
    };

    void run();
    QString openDatabase(QSqlDatabase &db, Loaded *loaded);
    // *version: the database's schema version, when it exists.
    QString checkSchema(QSqlDatabase &db, bool *exists, int *version);
    QString createSchema(QSqlDatabase &db);
    QString migrateSchema(QSqlDatabase &db, int fromVersion);
    // The journal's table, which databases made before it lack.
    QString createJournalTable(QSqlDatabase &db);
    QString loadJournal(QSqlDatabase &db, QList<StoredJournalEntry> *journal);
    QString loadEverything(QSqlDatabase &db, Loaded *loaded);
    void writeLoop(QSqlDatabase &db);
    void finishOpen(bool ok, const QString &error, Loaded loaded);
    void deliverCompleted();

    const QString m_connectionName;
    State m_state = State::Idle;
    QHash<QString, StoredMap> m_loaded;
    QList<StoredJournalEntry> m_loadedJournal;
    QHash<QString, QString> m_meta;
    std::unique_ptr<QThread> m_thread;

    // Shared with the writer thread.
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::vector<Submission> m_queue;
    std::vector<std::pair<QString, QString>> m_pendingMeta;
    std::vector<std::pair<Done, QString>> m_completed;
    bool m_stop = false;
};

} // namespace wingman::storage

#pragma once

#include "crdt/LwwRecord.h"
#include "crdt/OrRecord.h"

#include <QHash>
#include <QList>
#include <QLoggingCategory>
#include <QObject>
#include <QStringList>

#include <functional>
#include <vector>

namespace wingman::storage {

Q_DECLARE_LOGGING_CATEGORY(lcStorage)

// One change to persist. LWW records are stored whole (a tombstone is a record with a null
// value); OR maps store each live record by tag and each tombstoned tag.
struct StorageWrite {
    enum class Kind {
        LwwPut, // mapName, key, lww
        LwwDelete, // mapName, key (GC prune of a tombstone)
        OrPut, // mapName, key, orRecord
        OrTombstone, // mapName, tag (and drop the record carrying it, if stored)
        OrDeleteTombstone, // mapName, tag (GC prune)
        JournalAppend, // journal: event journal entries of one commit
        JournalTrim // journal.sequence: drop the journal's rows whose entries all precede it
    };
    Kind kind = Kind::LwwPut;
    QString mapName;
    QString key;
    QString tag;
    crdt::LwwRecord lww;
    crdt::OrRecord orRecord;
    // One row of the event journal: the entries one commit journaled, keyed by the last one's
    // sequence, so that a trim by sequence never drops an entry it should keep.
    struct JournalEntry {
        qint64 sequence = 0; // the last entry's
        qint64 millis = 0; // when they were journaled
        QByteArray events; // MessagePack, as the journal encodes them
    } journal;
};

using StoredJournalEntry = StorageWrite::JournalEntry;
// What a commit survives. Full: each group commit is flushed to disk before it is acknowledged,
// so it survives power loss. Relaxed: it survives the server process being killed, but an
// operating system crash or power loss may take back the last commits; commits cost no flush.
enum class Durability { Full, Relaxed };

// One stored LWW record; a map's keys are distinct (they are the table's primary key).
struct StoredLwwRecord {
    QString key;
    crdt::LwwRecord record;
};

// Everything a node stored, as loaded at startup.
struct StoredMap {
    enum class Kind { Lww, Or };
    Kind kind = Kind::Lww;
    // In storage order: loading appends, and LwwMap::load builds from it, with no hash between.
    std::vector<StoredLwwRecord> lwwRecords;
    qsizetype streamedLwwRecords = 0; // records handed to the LwwLoadSink instead
    QHash<QString, QList<crdt::OrRecord>> orRecords;
    QStringList orTombstones;

    // The LWW records by key, for lookups (tests, tools); loading never builds it.
    QHash<QString, crdt::LwwRecord> lwwByKey() const
    {
        QHash<QString, crdt::LwwRecord> byKey;
        byKey.reserve(qsizetype(lwwRecords.size()));
        for (const StoredLwwRecord &stored : lwwRecords)
            byKey.insert(stored.key, stored.record);
        return byKey;
    }
};

// Takes LWW records while storage opens, on storage's loading thread: chunks in storage order,
// each of one map, whose keys are distinct across all its chunks.
using LwwLoadSink
    = std::function<void(const QString &mapName, std::vector<StoredLwwRecord> &&records)>;

// Where a node keeps what it acknowledged. open() finishes with opened() or failed(reason), never
// synchronously, so the coordinator can join it with the listeners. write() calls done once the
// writes are durable (or failed): the caller acknowledges only then.
class Storage : public QObject
{
    Q_OBJECT
public:
    using Done = std::function<void(const QString &error)>; // empty error: committed

    using QObject::QObject;

    virtual void open() = 0;
    // Flushes pending writes, then closes. Synchronous.
    virtual void close() = 0;
    virtual bool isOpen() const = 0;
    // True when a committed write survives a crash of the process.
    virtual bool isDurable() const = 0;

    // Queues writes; done runs on this object's thread after they are committed, in submission
    // order. Implementations group-commit: many write() calls may share one transaction.
    virtual void write(QList<StorageWrite> writes, Done done) = 0;
    // Every stored map by name; called once, after opened().
    virtual QHash<QString, StoredMap> loadAll() = 0;
    // Set before open(): a backend that streams hands its LWW records to sink as it reads them,
    // so maps build while storage is still reading; loadAll() then lists those maps (kind Lww)
    // without their records. A backend that does not stream ignores it.
    void setLwwLoadSink(LwwLoadSink sink) { m_lwwLoadSink = std::move(sink); }
    // The event journal's kept rows, oldest first; called once, after opened().
    virtual QList<StoredJournalEntry> loadJournal() { return {}; }
    virtual QString loadMeta(const QString &key) = 0;
    virtual void storeMeta(const QString &key, const QString &value) = 0;

Q_SIGNALS:
    void opened();
    void failed(const QString &reason);

protected:
    const LwwLoadSink &lwwLoadSink() const { return m_lwwLoadSink; }

private:
    LwwLoadSink m_lwwLoadSink;
};

} // namespace wingman::storage

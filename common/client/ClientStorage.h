#pragma once

#include "crdt/LwwRecord.h"
#include "crdt/OrRecord.h"
#include "protocol/MessageTypes.h"

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

namespace wingman::client {

// Where a client keeps what must survive a restart: its op log (writes the server has not yet
// acknowledged), the records of every map, and per-map metadata (lastSyncTimestamp). SyncEngine
// writes an op here before it sends it, so an unacknowledged write is never lost.
//
// Op ids are the log's sequence numbers as decimal strings ("1", "2", …), never reused, not even
// after synced ops are pruned. Methods returning bool report failure with false and leave the
// reason in errorString(). Not thread-safe.
class ClientStorage
{
public:
    virtual ~ClientStorage() = default;

    virtual bool open() = 0;
    virtual bool isOpen() const = 0;
    virtual QString errorString() const = 0;

    // Groups the writes up to commit() into one durable step; storages without transactions
    // accept and ignore both.
    virtual bool begin() { return true; }
    virtual bool commit() { return true; }

    // Stores op (its id is ignored) under the next sequence id and returns that id; an empty
    // string on failure.
    virtual QString appendOp(const protocol::ClientOp &op) = 0;
    // The server has the op: it is no longer listed by unsyncedOps().
    virtual bool markOpSynced(const QString &id) = 0;
    // Deletes the op whatever its state (the server rejected it).
    virtual bool removeOp(const QString &id) = 0;
    // Deletes every synced op.
    virtual bool pruneSyncedOps() = 0;
    // Ops not yet synced, in sequence order, each with its id set.
    virtual QList<protocol::ClientOp> unsyncedOps() const = 0;

    virtual bool storeLwwRecord(
        const QString &mapName, const QString &key, const crdt::LwwRecord &record)
        = 0;
    virtual bool removeLwwRecord(const QString &mapName, const QString &key) = 0;
    virtual QHash<QString, crdt::LwwRecord> lwwRecords(const QString &mapName) const = 0;

    // Replaces key's records; an empty list deletes the key.
    virtual bool storeOrRecords(
        const QString &mapName, const QString &key, const QList<crdt::OrRecord> &records)
        = 0;
    virtual QHash<QString, QList<crdt::OrRecord>> orRecords(const QString &mapName) const = 0;
    virtual bool addOrTombstones(const QString &mapName, const QStringList &tags) = 0;
    virtual bool removeOrTombstones(const QString &mapName, const QStringList &tags) = 0;
    virtual QStringList orTombstones(const QString &mapName) const = 0;

    // Epoch millis of the last server timestamp seen for the map; 0 when never synced.
    virtual qint64 lastSyncTimestamp(const QString &mapName) const = 0;
    virtual bool setLastSyncTimestamp(const QString &mapName, qint64 millis) = 0;

    // Deletes the map's records, tombstones and metadata; the op log is left alone.
    virtual bool clearMap(const QString &mapName) = 0;
};

} // namespace wingman::client

#pragma once

#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "protocol/Messages.h"

#include <QCborMap>
#include <QElapsedTimer>
#include <QList>
#include <QSet>
#include <QString>
#include <functional>
#include <memory>

namespace wingman::client {

class ClientStorage;

enum class MapType { Lww, Or };

// One map a client has registered: its CRDT (LWW or OR, stamped by the client's shared Hlc),
// kept in step with ClientStorage, and its side of the Merkle catch-up with the server. Merkle
// sync is driven by the server's answers: each on*() handler merges what it is given and
// returns the messages to send next. Every accepted change is stored and reported to the
// change listener.
class ClientMap
{
public:
    using ChangeListener = std::function<void(const QString &key)>;

    ClientMap(QString name, MapType type, crdt::Hlc &hlc, ClientStorage &storage);
    ClientMap(const ClientMap &) = delete;
    ClientMap &operator=(const ClientMap &) = delete;

    const QString &name() const { return m_name; }
    MapType type() const { return m_type; }
    // Non-null for LWW maps / for OR maps respectively.
    crdt::LwwMap *lwwMap() const { return m_lww.get(); }
    crdt::OrMap *orMap() const { return m_or.get(); }
    void setChangeListener(ChangeListener listener) { m_listener = std::move(listener); }

    // Loads the stored records and metadata, then applies ops of this map still in the op log,
    // so a write that was logged but not yet stored as a record is not lost.
    void load(const QList<protocol::ClientOp> &unsyncedOps);

    // Local writes: applied and stored; the returned ops (without id) are for the op log.
    protocol::ClientOp put(
        const QString &key, const QCborValue &value, std::optional<qint64> ttlMs);
    protocol::ClientOp remove(const QString &key);
    protocol::ClientOp orAdd(
        const QString &key, const QCborValue &value, std::optional<qint64> ttlMs);
    QList<protocol::ClientOp> orRemove(const QString &key, const QCborValue &value);

    // A record, OR record or OR tombstone carried by a server event or a logged op.
    void applyEvent(const protocol::ServerEventPayload &event);
    void applyOp(const protocol::ClientOp &op);

    // Merkle catch-up. syncInit() starts (or restarts) it and returns SYNC_INIT or
    // ORMAP_SYNC_INIT.
    QCborMap syncInit();
    QList<QCborMap> onSyncRoot(quint32 rootHash, const crdt::Timestamp &serverTime);
    QList<QCborMap> onSyncBuckets(const QString &path, const protocol::BucketHashes &buckets);
    void onLwwLeaf(const QString &path, const QList<protocol::LeafRecord> &records);
    QList<QCborMap> onOrLeaf(const QString &path, const QList<protocol::OrMapEntry> &entries);
    void onOrEntries(const QList<protocol::OrMapEntry> &entries);
    // When the sync has made no progress for timeoutMs: the SYNC_INIT that restarts it, or
    // nothing (after a few restarts it is given up until the next connection).
    QList<QCborMap> checkStalled(qint64 timeoutMs);

    bool isSyncing() const { return m_sync != Sync::Idle && m_sync != Sync::Done; }
    // The catch-up completed on this connection.
    bool isSynced() const { return m_sync == Sync::Done; }
    // The connection is gone: the next one syncs again.
    void disconnected();

    // SYNC_RESET_REQUIRED: wipes records, tombstones and lastSyncTimestamp, then re-applies
    // the map's ops still in the op log (they are about to reach the server anyway).
    void reset(const QList<protocol::ClientOp> &unsyncedOps);
    // GC_PRUNE: drops tombstones older than olderThan.
    void prune(const crdt::Timestamp &olderThan);

    qint64 lastSyncTimestamp() const { return m_lastSync; }
    // A server timestamp seen while this map is in sync with the server.
    void noteServerTime(qint64 millis);
    // Writes lastSyncTimestamp to storage if it moved since it was last written.
    void flushLastSync();

private:
    enum class Sync { Idle, AwaitingRoot, Walking, Done };

    void changed(const QString &key);
    void storeOrKey(const QString &key);
    void storeTombstones(const QStringList &tags);
    QCborMap requestBucket(const QString &path) const;
    void finishIfWalked();
    void finish();
    const crdt::MerkleTree &tree() const;
    // Local OR keys whose Merkle path starts with path.
    QStringList orKeysUnder(const QString &path) const;
    QCborMap pushDiff(const QStringList &keys) const;

    QString m_name;
    MapType m_type;
    ClientStorage *m_storage;
    std::unique_ptr<crdt::LwwMap> m_lww;
    std::unique_ptr<crdt::OrMap> m_or;
    ChangeListener m_listener;
    bool m_loading = false;

    Sync m_sync = Sync::Idle;
    QSet<QString> m_pendingPaths;
    QElapsedTimer m_lastProgress;
    int m_syncAttempts = 0;
    qint64 m_serverTime = 0; // of the SYNC_RESP_ROOT this sync compares against
    qint64 m_lastSync = 0;
    qint64 m_storedLastSync = 0;
};

} // namespace wingman::client

#include "client/ClientMap.h"

#include "client/ClientLogging.h"
#include "client/ClientStorage.h"
#include "crdt/Hash.h"

namespace wingman::client {

namespace {

// Restarts of a stalled Merkle sync before it is left until the next connection.
constexpr int kMaxSyncRestarts = 3;

} // namespace

ClientMap::ClientMap(QString name, MapType type, crdt::Hlc &hlc, ClientStorage &storage)
    : m_name(std::move(name))
    , m_type(type)
    , m_storage(&storage)
{
    if (type == MapType::Lww) {
        m_lww = std::make_unique<crdt::LwwMap>(hlc);
        m_lww->setChangeListener([this](const QString &key, const crdt::LwwRecord &record) {
            if (m_loading)
                return;
            m_storage->storeLwwRecord(m_name, key, record);
            changed(key);
        });
    } else {
        m_or = std::make_unique<crdt::OrMap>(hlc);
        m_or->setChangeListener([this](const QString &key) {
            if (m_loading)
                return;
            storeOrKey(key);
            changed(key);
        });
    }
}

void ClientMap::load(const QList<protocol::ClientOp> &unsyncedOps)
{
    // The stored records are already stored: merge them without writing them back.
    m_loading = true;
    if (m_lww) {
        const auto records = m_storage->lwwRecords(m_name);
        for (auto it = records.cbegin(); it != records.cend(); ++it)
            m_lww->merge(it.key(), it.value());
    } else {
        for (const QString &tag : m_storage->orTombstones(m_name))
            m_or->applyTombstone(tag);
        const auto records = m_storage->orRecords(m_name);
        for (auto it = records.cbegin(); it != records.cend(); ++it)
            m_or->mergeKey(it.key(), it.value());
    }
    m_loading = false;
    m_lastSync = m_storedLastSync = m_storage->lastSyncTimestamp(m_name);
    for (const protocol::ClientOp &op : unsyncedOps)
        applyOp(op);
}

protocol::ClientOp ClientMap::put(
    const QString &key, const QCborValue &value, std::optional<qint64> ttlMs)
{
    Q_ASSERT(m_lww);
    protocol::ClientOp op;
    op.mapName = m_name;
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = m_lww->set(key, value, ttlMs);
    return op;
}

protocol::ClientOp ClientMap::remove(const QString &key)
{
    Q_ASSERT(m_lww);
    protocol::ClientOp op;
    op.mapName = m_name;
    op.key = key;
    op.opType = protocol::OpType::Remove;
    op.record = m_lww->remove(key);
    return op;
}

protocol::ClientOp ClientMap::orAdd(
    const QString &key, const QCborValue &value, std::optional<qint64> ttlMs)
{
    Q_ASSERT(m_or);
    protocol::ClientOp op;
    op.mapName = m_name;
    op.key = key;
    op.opType = protocol::OpType::OrAdd;
    op.orRecord = m_or->add(key, value, ttlMs);
    return op;
}

QList<protocol::ClientOp> ClientMap::orRemove(const QString &key, const QCborValue &value)
{
    Q_ASSERT(m_or);
    const QStringList tags = m_or->remove(key, value);
    storeTombstones(tags);
    QList<protocol::ClientOp> ops;
    for (const QString &tag : tags) {
        protocol::ClientOp op;
        op.mapName = m_name;
        op.key = key;
        op.opType = protocol::OpType::OrRemove;
        op.orTag = tag;
        ops.append(op);
    }
    return ops;
}

void ClientMap::applyEvent(const protocol::ServerEventPayload &event)
{
    // As the TopGun client: an LWW record is merged whatever the eventType says (TTL expiry
    // arrives as UPDATED with a tombstone).
    if (m_lww) {
        if (event.record)
            m_lww->merge(event.key, *event.record);
        return;
    }
    if (event.orRecord)
        m_or->apply(event.key, *event.orRecord);
    if (event.orTag && (event.eventType == protocol::ServerEventType::OrRemove || !event.orRecord)
        && !m_or->isTombstoned(*event.orTag)) {
        m_or->applyTombstone(*event.orTag);
        storeTombstones({ *event.orTag });
    }
}

void ClientMap::applyOp(const protocol::ClientOp &op)
{
    if (op.mapName != m_name)
        return;
    protocol::ServerEventPayload event;
    event.mapName = op.mapName;
    event.key = op.key;
    event.record = op.record;
    event.orRecord = op.orRecord;
    event.orTag = op.orTag;
    event.eventType = op.effectiveType() == protocol::OpType::OrRemove
        ? protocol::ServerEventType::OrRemove
        : protocol::ServerEventType::Put;
    applyEvent(event);
}

QCborMap ClientMap::syncInit()
{
    m_sync = Sync::AwaitingRoot;
    m_pendingPaths.clear();
    m_lastProgress.start();
    if (m_lww)
        return protocol::SyncInitMessage { m_name, m_lastSync }.toCbor();
    protocol::OrMapSyncInitMessage init;
    init.mapName = m_name;
    init.rootHash = tree().rootHash();
    init.bucketHashes = tree().buckets(u"");
    init.lastSyncTimestamp = m_lastSync;
    return init.toCbor();
}

QList<QCborMap> ClientMap::onSyncRoot(quint32 rootHash, const crdt::Timestamp &serverTime)
{
    if (m_sync != Sync::AwaitingRoot)
        return {};
    m_lastProgress.start();
    m_serverTime = serverTime.millis;
    QList<QCborMap> out;
    if (rootHash == tree().rootHash()) {
        finish();
        return out;
    }
    // An empty server tree has nothing to pull (and answers no bucket request); an OR map
    // pushes its side instead.
    if (rootHash == 0) {
        if (m_or && !m_or->keys().isEmpty())
            out.append(pushDiff(m_or->keys()));
        finish();
        return out;
    }
    m_sync = Sync::Walking;
    m_pendingPaths.insert(QString());
    out.append(requestBucket(QString()));
    return out;
}

QList<QCborMap> ClientMap::onSyncBuckets(const QString &path, const protocol::BucketHashes &buckets)
{
    QList<QCborMap> out;
    if (m_sync != Sync::Walking || !m_pendingPaths.remove(path))
        return out;
    m_lastProgress.start();
    const QMap<QString, quint32> local = tree().buckets(path);
    QStringList keysToPush;
    for (auto it = buckets.cbegin(); it != buckets.cend(); ++it) {
        const QString child = path + it.key();
        // A zero hash is an emptied node: nothing to pull from it.
        if (it.value() == 0 || local.value(it.key(), 0) == it.value())
            continue;
        m_pendingPaths.insert(child);
        out.append(requestBucket(child));
    }
    if (m_or) {
        for (auto it = local.cbegin(); it != local.cend(); ++it) {
            if (it.value() != 0 && buckets.value(it.key(), 0) == 0)
                keysToPush += orKeysUnder(path + it.key());
        }
        if (!keysToPush.isEmpty())
            out.append(pushDiff(keysToPush));
    }
    finishIfWalked();
    return out;
}

void ClientMap::onLwwLeaf(const QString &path, const QList<protocol::LeafRecord> &records)
{
    if (!m_lww)
        return;
    for (const protocol::LeafRecord &leaf : records)
        m_lww->merge(leaf.key, leaf.record);
    if (m_sync == Sync::Walking && m_pendingPaths.remove(path)) {
        m_lastProgress.start();
        finishIfWalked();
    }
}

QList<QCborMap> ClientMap::onOrLeaf(const QString &path, const QList<protocol::OrMapEntry> &entries)
{
    QList<QCborMap> out;
    if (!m_or)
        return out;
    onOrEntries(entries);
    // Push every key of this leaf whose entry the server lacks or holds differently (after the
    // merge our side is a superset of the server's).
    QHash<QString, quint32> serverHashes;
    for (const protocol::OrMapEntry &entry : entries)
        serverHashes.insert(entry.key, crdt::OrMapMerkleTree::entryHash(entry.key, entry.records));
    QStringList keysToPush;
    for (const QString &key : tree().keysInBucket(path)) {
        const auto server = serverHashes.constFind(key);
        if (server == serverHashes.cend() || tree().entryHash(key) != server.value())
            keysToPush.append(key);
    }
    if (!keysToPush.isEmpty())
        out.append(pushDiff(keysToPush));
    if (m_sync == Sync::Walking && m_pendingPaths.remove(path)) {
        m_lastProgress.start();
        finishIfWalked();
    }
    return out;
}

void ClientMap::onOrEntries(const QList<protocol::OrMapEntry> &entries)
{
    if (!m_or)
        return;
    for (const protocol::OrMapEntry &entry : entries) {
        m_or->mergeKey(entry.key, entry.records, entry.tombstones);
        storeTombstones(entry.tombstones);
    }
}

QList<QCborMap> ClientMap::checkStalled(qint64 timeoutMs)
{
    if (!isSyncing() || m_lastProgress.elapsed() < timeoutMs)
        return {};
    if (++m_syncAttempts > kMaxSyncRestarts) {
        qCWarning(lcClient) << "Merkle sync of" << m_name << "made no progress after"
                            << kMaxSyncRestarts << "restarts; retrying on the next connection";
        m_sync = Sync::Idle;
        m_pendingPaths.clear();
        return {};
    }
    qCInfo(lcClient) << "Merkle sync of" << m_name << "stalled; restarting it";
    return { syncInit() };
}

void ClientMap::disconnected()
{
    flushLastSync();
    m_sync = Sync::Idle;
    m_pendingPaths.clear();
    m_syncAttempts = 0;
}

void ClientMap::reset(const QList<protocol::ClientOp> &unsyncedOps)
{
    const QStringList keys = m_lww ? m_lww->keys() : m_or->keys();
    if (m_lww)
        m_lww->clear();
    else
        m_or->clear();
    m_storage->clearMap(m_name);
    m_lastSync = m_storedLastSync = 0;
    m_sync = Sync::Idle;
    m_pendingPaths.clear();
    for (const QString &key : keys)
        changed(key);
    for (const protocol::ClientOp &op : unsyncedOps)
        applyOp(op);
}

void ClientMap::prune(const crdt::Timestamp &olderThan)
{
    if (m_lww) {
        for (const QString &key : m_lww->prune(olderThan))
            m_storage->removeLwwRecord(m_name, key);
    } else {
        m_storage->removeOrTombstones(m_name, m_or->prune(olderThan));
    }
}

void ClientMap::noteServerTime(qint64 millis)
{
    if (m_sync != Sync::Done || millis <= m_lastSync)
        return;
    m_lastSync = millis;
    // Storing it on every message would cost a write each; a second of staleness only makes
    // the reset check more cautious.
    if (m_lastSync - m_storedLastSync >= 1000)
        flushLastSync();
}

void ClientMap::flushLastSync()
{
    if (m_lastSync == m_storedLastSync)
        return;
    if (m_storage->setLastSyncTimestamp(m_name, m_lastSync))
        m_storedLastSync = m_lastSync;
}

void ClientMap::changed(const QString &key)
{
    if (!m_loading && m_listener)
        m_listener(key);
}

void ClientMap::storeOrKey(const QString &key)
{
    m_storage->storeOrRecords(m_name, key, m_or->records(key));
}

void ClientMap::storeTombstones(const QStringList &tags)
{
    if (!tags.isEmpty())
        m_storage->addOrTombstones(m_name, tags);
}

QCborMap ClientMap::requestBucket(const QString &path) const
{
    if (m_lww)
        return protocol::MerkleReqBucketMessage { m_name, path }.toCbor();
    return protocol::OrMapMerkleReqBucketMessage { m_name, path }.toCbor();
}

void ClientMap::finishIfWalked()
{
    if (m_sync == Sync::Walking && m_pendingPaths.isEmpty())
        finish();
}

void ClientMap::finish()
{
    m_sync = Sync::Done;
    m_syncAttempts = 0;
    m_lastSync = std::max(m_lastSync, m_serverTime);
    flushLastSync();
}

const crdt::MerkleTree &ClientMap::tree() const
{
    if (m_lww)
        return m_lww->merkleTree();
    return m_or->merkleTree();
}

QStringList ClientMap::orKeysUnder(const QString &path) const
{
    QStringList keys;
    for (const QString &key : m_or->keys()) {
        if (crdt::Hash::toHex(crdt::hash(key)).startsWith(path))
            keys.append(key);
    }
    return keys;
}

QCborMap ClientMap::pushDiff(const QStringList &keys) const
{
    protocol::OrMapPushDiffMessage push;
    push.mapName = m_name;
    for (const QString &key : keys)
        push.entries.append(protocol::OrMapEntry { key, m_or->records(key), {} });
    // Tombstones are map-wide tags; sending them once, with the first entry, is enough.
    if (!push.entries.isEmpty())
        push.entries.first().tombstones = m_or->tombstones();
    return push.toCbor();
}

} // namespace wingman::client

#pragma once

#include "live/QueryRegistry.h"
#include "storage/Storage.h"

#include <QHash>
#include <QList>

namespace wingman::ops {

// What one write (a batch of ops, an OR-map push, a GC run) changed, as the storage writes that
// persist it and the change events that announce it, built together so the two cannot disagree.
// Maps are changed before a ChangeSet is filled; the Committer persists and publishes it.
class ChangeSet
{
public:
    // A merged LWW record: PUT or REMOVE by its value, UPDATED when a TTL turned it into a
    // tombstone. value: the key's live value after the change, if any.
    void lwwPut(const QString &mapName, const QString &key, const crdt::LwwRecord &record,
        protocol::ServerEventType type, std::optional<crdt::Value> value, bool wasLive);
    void orAdd(const QString &mapName, const QString &key, const crdt::OrRecord &record,
        std::optional<crdt::Value> value);
    void orTombstone(const QString &mapName, const QString &key, const QString &tag,
        std::optional<crdt::Value> value);
    // GC prunes: stored only, nobody is told.
    void lwwDelete(const QString &mapName, const QString &key);
    void orDeleteTombstone(const QString &mapName, const QString &tag);
    // An OR record dropped without a tombstone (a replica discarding state it cannot trust):
    // stored only, nobody is told.
    void orDiscard(const QString &mapName, const QString &tag);

    bool isEmpty() const { return m_writes.isEmpty(); }
    qsizetype writeCount() const { return m_writes.size(); }
    void reserve(qsizetype writes) { m_writes.reserve(writes); }

    const QList<storage::StorageWrite> &writes() const { return m_writes; }
    // The change events by map, in the order they happened within each map.
    const QHash<QString, QList<live::Change>> &changesByMap() const { return m_changes; }

private:
    void add(live::Change change, storage::StorageWrite write);

    QList<storage::StorageWrite> m_writes;
    QHash<QString, QList<live::Change>> m_changes;
};

} // namespace wingman::ops

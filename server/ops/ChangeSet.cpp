#include "ops/ChangeSet.h"

namespace wingman::ops {

using Kind = storage::StorageWrite::Kind;

namespace {

live::Change changeOf(const QString &mapName, const QString &key, protocol::ServerEventType type,
    std::optional<crdt::Value> value)
{
    live::Change change;
    change.event.mapName = mapName;
    change.event.key = key;
    change.event.eventType = type;
    change.value = std::move(value);
    return change;
}

storage::StorageWrite writeOf(Kind kind, const QString &mapName, const QString &key = {})
{
    storage::StorageWrite write;
    write.kind = kind;
    write.mapName = mapName;
    write.key = key;
    return write;
}

} // namespace

void ChangeSet::add(live::Change change, storage::StorageWrite write)
{
    m_changes[change.event.mapName].append(std::move(change));
    m_writes.append(std::move(write));
}

void ChangeSet::lwwPut(const QString &mapName, const QString &key, const crdt::LwwRecord &record,
    protocol::ServerEventType type, std::optional<crdt::Value> value, bool wasLive)
{
    live::Change change = changeOf(mapName, key, type, std::move(value));
    change.event.record = record;
    change.wasLive = wasLive;
    storage::StorageWrite write = writeOf(Kind::LwwPut, mapName, key);
    write.lww = record;
    add(std::move(change), std::move(write));
}

void ChangeSet::orAdd(const QString &mapName, const QString &key, const crdt::OrRecord &record,
    std::optional<crdt::Value> value)
{
    live::Change change
        = changeOf(mapName, key, protocol::ServerEventType::OrAdd, std::move(value));
    change.event.orRecord = record;
    storage::StorageWrite write = writeOf(Kind::OrPut, mapName, key);
    write.orRecord = record;
    add(std::move(change), std::move(write));
}

void ChangeSet::orTombstone(const QString &mapName, const QString &key, const QString &tag,
    std::optional<crdt::Value> value)
{
    live::Change change
        = changeOf(mapName, key, protocol::ServerEventType::OrRemove, std::move(value));
    change.event.orTag = tag;
    storage::StorageWrite write = writeOf(Kind::OrTombstone, mapName, key);
    write.tag = tag;
    add(std::move(change), std::move(write));
}

void ChangeSet::lwwDelete(const QString &mapName, const QString &key)
{
    m_writes.append(writeOf(Kind::LwwDelete, mapName, key));
}

void ChangeSet::orDeleteTombstone(const QString &mapName, const QString &tag)
{
    storage::StorageWrite write = writeOf(Kind::OrDeleteTombstone, mapName);
    write.tag = tag;
    m_writes.append(std::move(write));
}

void ChangeSet::orDiscard(const QString &mapName, const QString &tag)
{
    // Storing the tombstone drops the record carrying the tag; deleting it then leaves neither.
    storage::StorageWrite tombstone = writeOf(Kind::OrTombstone, mapName);
    tombstone.tag = tag;
    m_writes.append(tombstone);
    storage::StorageWrite drop = writeOf(Kind::OrDeleteTombstone, mapName);
    drop.tag = tag;
    m_writes.append(std::move(drop));
}

} // namespace wingman::ops

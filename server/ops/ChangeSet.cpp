#include "ops/ChangeSet.h"

namespace wingman::ops {

using Kind = storage::StorageWrite::Kind;

void ChangeSet::lwwPut(const QString &mapName, const QString &key, const crdt::LwwRecord &record,
                       protocol::ServerEventType type, std::optional<crdt::Value> value,
                       bool wasLive)
{
    live::Change change;
    change.event.mapName = mapName;
    change.event.key = key;
    change.event.eventType = type;
    change.event.record = record;
    change.value = std::move(value);
    change.wasLive = wasLive;
    m_changes[mapName].append(std::move(change));

    storage::StorageWrite write;
    write.kind = Kind::LwwPut;
    write.mapName = mapName;
    write.key = key;
    write.lww = record;
    m_writes.append(std::move(write));
}

void ChangeSet::orAdd(const QString &mapName, const QString &key, const crdt::OrRecord &record,
                      std::optional<crdt::Value> value)
{
    live::Change change;
    change.event.mapName = mapName;
    change.event.key = key;
    change.event.eventType = protocol::ServerEventType::OrAdd;
    change.event.orRecord = record;
    change.value = std::move(value);
    m_changes[mapName].append(std::move(change));

    storage::StorageWrite write;
    write.kind = Kind::OrPut;
    write.mapName = mapName;
    write.key = key;
    write.orRecord = record;
    m_writes.append(std::move(write));
}

void ChangeSet::orTombstone(const QString &mapName, const QString &key, const QString &tag,
                            std::optional<crdt::Value> value)
{
    live::Change change;
    change.event.mapName = mapName;
    change.event.key = key;
    change.event.eventType = protocol::ServerEventType::OrRemove;
    change.event.orTag = tag;
    change.value = std::move(value);
    m_changes[mapName].append(std::move(change));

    storage::StorageWrite write;
    write.kind = Kind::OrTombstone;
    write.mapName = mapName;
    write.key = key;
    write.tag = tag;
    m_writes.append(std::move(write));
}

void ChangeSet::lwwDelete(const QString &mapName, const QString &key)
{
    storage::StorageWrite write;
    write.kind = Kind::LwwDelete;
    write.mapName = mapName;
    write.key = key;
    m_writes.append(std::move(write));
}

void ChangeSet::orDeleteTombstone(const QString &mapName, const QString &tag)
{
    storage::StorageWrite write;
    write.kind = Kind::OrDeleteTombstone;
    write.mapName = mapName;
    write.tag = tag;
    m_writes.append(std::move(write));
}

} // namespace wingman::ops

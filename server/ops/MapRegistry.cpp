#include "ops/MapRegistry.h"

namespace wingman::ops {

MapRegistry::MapRegistry(const QString &nodeId, crdt::Hlc::Clock clock)
    : m_hlc(nodeId, std::move(clock))
{
}

MapRegistry::Kind MapRegistry::kindOf(const QString &name) const
{
    const auto it = m_maps.find(name);
    return it == m_maps.end() ? Kind::None : it->second.kind;
}

QStringList MapRegistry::mapNames() const
{
    QStringList names;
    names.reserve(qsizetype(m_maps.size()));
    for (const auto &[name, slot] : m_maps)
        names.append(name);
    return names;
}

void MapRegistry::load(const QHash<QString, storage::StoredMap> &stored)
{
    for (auto it = stored.cbegin(); it != stored.cend(); ++it) {
        const storage::StoredMap &map = it.value();
        if (map.kind == storage::StoredMap::Kind::Lww) {
            crdt::LwwMap *target = lwwMap(it.key());
            if (!target)
                continue;
            for (auto record = map.lwwRecords.cbegin(); record != map.lwwRecords.cend(); ++record)
                target->merge(record.key(), record.value());
        } else {
            crdt::OrMap *target = orMap(it.key());
            if (!target)
                continue;
            for (const QString &tag : map.orTombstones)
                target->applyTombstone(tag);
            for (auto records = map.orRecords.cbegin(); records != map.orRecords.cend(); ++records)
                target->mergeKey(records.key(), records.value());
        }
    }
}

crdt::LwwMap *MapRegistry::lwwMap(const QString &name)
{
    Slot &slot = m_maps[name];
    if (slot.kind == Kind::None) {
        slot.kind = Kind::Lww;
        slot.lww = std::make_unique<crdt::LwwMap>(m_hlc);
    }
    return slot.lww.get();
}

crdt::OrMap *MapRegistry::orMap(const QString &name)
{
    Slot &slot = m_maps[name];
    if (slot.kind == Kind::None) {
        slot.kind = Kind::Or;
        slot.orMap = std::make_unique<crdt::OrMap>(m_hlc);
    }
    return slot.orMap.get();
}

crdt::LwwMap *MapRegistry::findLww(const QString &name) const
{
    const auto it = m_maps.find(name);
    return it == m_maps.end() ? nullptr : it->second.lww.get();
}

crdt::OrMap *MapRegistry::findOr(const QString &name) const
{
    const auto it = m_maps.find(name);
    return it == m_maps.end() ? nullptr : it->second.orMap.get();
}

} // namespace wingman::ops

#include "maps/MapRegistry.h"

#include <future>
#include <vector>

namespace wingman::maps {

MapRegistry::MapRegistry(const QString &nodeId, crdt::Hlc::Clock clock)
    : m_hlc(nodeId, std::move(clock))
{ }

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
    // LWW maps are independent but for the shared clock, which LwwMap::load leaves alone: large
    // ones build on worker threads, and the clock moves past the newest record afterwards.
    constexpr qsizetype kParallelRecords = 50'000;
    std::vector<std::future<std::optional<crdt::Timestamp>>> loading;
    std::optional<crdt::Timestamp> newest;
    const auto note = [&newest](const std::optional<crdt::Timestamp> &timestamp) {
        if (timestamp && (!newest || *newest < *timestamp))
            newest = timestamp;
    };
    for (auto it = stored.cbegin(); it != stored.cend(); ++it) {
        const storage::StoredMap &map = it.value();
        if (map.kind == storage::StoredMap::Kind::Lww) {
            crdt::LwwMap *target = lwwMap(it.key());
            if (!target)
                continue;
            const auto &records = map.lwwRecords;
            if (qsizetype(records.size()) < kParallelRecords) {
                note(target->load(records.cbegin(), records.cend()));
                continue;
            }
            loading.push_back(std::async(std::launch::async,
                [target, &records] { return target->load(records.cbegin(), records.cend()); }));
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
    for (auto &future : loading)
        note(future.get());
    if (newest)
        m_hlc.update(*newest);
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

} // namespace wingman::maps

#include "maps/MapRegistry.h"

#include <algorithm>
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

MapRegistry::StreamLoader::StreamLoader(MapRegistry &registry)
    : m_registry(registry)
    , m_thread([this] { run(); })
{ }

MapRegistry::StreamLoader::~StreamLoader()
{
    {
        std::lock_guard lock(m_mutex);
        m_done = true;
    }
    m_changed.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

storage::LwwLoadSink MapRegistry::StreamLoader::sink()
{
    return [this](const QString &mapName, std::vector<storage::StoredLwwRecord> &&records) {
        constexpr size_t kMaxQueued = 8; // bounds the records held at once
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [this] { return m_queue.size() < kMaxQueued; });
            m_queue.emplace_back(mapName, std::move(records));
        }
        m_changed.notify_all();
    };
}

void MapRegistry::StreamLoader::run()
{
    for (;;) {
        std::pair<QString, std::vector<storage::StoredLwwRecord>> chunk;
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [this] { return !m_queue.empty() || m_done; });
            if (m_queue.empty())
                return;
            chunk = std::move(m_queue.front());
            m_queue.pop_front();
        }
        m_changed.notify_all();
        // Chunks of one map come together, so the last built map is nearly always the one.
        if (m_built.empty() || m_built.back().first != chunk.first) {
            const auto known = std::find_if(m_built.begin(), m_built.end(),
                [&chunk](const auto &built) { return built.first == chunk.first; });
            if (known == m_built.end())
                m_built.emplace_back(chunk.first, std::make_unique<crdt::LwwMap>(m_registry.m_hlc));
            else
                std::iter_swap(known, m_built.end() - 1);
        }
        const std::vector<storage::StoredLwwRecord> &records = chunk.second;
        const auto newest = m_built.back().second->load(
            records.cbegin(), records.cend(), crdt::LwwMap::LoadKeys::KeysAreNew);
        if (newest && (!m_newest || *m_newest < *newest))
            m_newest = newest;
    }
}

void MapRegistry::StreamLoader::adopt()
{
    {
        std::lock_guard lock(m_mutex);
        m_done = true;
    }
    m_changed.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    for (auto &[name, map] : m_built) {
        Slot &slot = m_registry.m_maps[name];
        slot.kind = Kind::Lww;
        slot.lww = std::move(map);
    }
    m_built.clear();
    if (m_newest)
        m_registry.m_hlc.update(*m_newest);
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

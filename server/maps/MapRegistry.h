#pragma once

#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "storage/Storage.h"

#include <QString>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace wingman::maps {

// The node's maps and the clock they share. A map is created on first use and is LWW or OR by
// the first operation that touches it.
class MapRegistry
{
public:
    enum class Kind { None, Lww, Or };

    MapRegistry(const QString &nodeId, crdt::Hlc::Clock clock = {});

    crdt::Hlc &hlc() { return m_hlc; }
    Kind kindOf(const QString &name) const;
    // The map, created when absent; null when the name is taken by the other kind.
    crdt::LwwMap *lwwMap(const QString &name);
    crdt::OrMap *orMap(const QString &name);
    // Existing maps only.
    crdt::LwwMap *findLww(const QString &name) const;
    crdt::OrMap *findOr(const QString &name) const;
    QStringList mapNames() const;
    // Rebuilds maps (and their Merkle trees) from what storage loaded at startup.
    void load(const QHash<QString, storage::StoredMap> &stored);

    // Builds LWW maps on a worker thread from the chunks storage streams while it reads
    // (Storage::setLwwLoadSink); the registry is not touched until adopt().
    class StreamLoader
    {
    public:
        explicit StreamLoader(MapRegistry &registry);
        ~StreamLoader(); // waits for the worker; what was built and not adopted is dropped
        StreamLoader(const StreamLoader &) = delete;
        StreamLoader &operator=(const StreamLoader &) = delete;

        // Thread-safe; blocks while the worker is several chunks behind.
        storage::LwwLoadSink sink();
        // Waits for every chunk handed over, then moves the maps into the registry and the
        // clock past their newest record. Call once, on the registry's thread, before load().
        void adopt();

    private:
        void run();

        MapRegistry &m_registry;
        std::vector<std::pair<QString, std::unique_ptr<crdt::LwwMap>>> m_built;
        std::optional<crdt::Timestamp> m_newest;
        std::mutex m_mutex;
        std::condition_variable m_changed;
        std::deque<std::pair<QString, std::vector<storage::StoredLwwRecord>>> m_queue;
        bool m_done = false;
        std::thread m_thread;
    };

private:
    struct Slot {
        Kind kind = Kind::None;
        std::unique_ptr<crdt::LwwMap> lww;
        std::unique_ptr<crdt::OrMap> orMap;
    };

    crdt::Hlc m_hlc;
    std::unordered_map<QString, Slot> m_maps;
};

} // namespace wingman::maps

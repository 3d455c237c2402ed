#pragma once

#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "storage/Storage.h"

#include <QString>
#include <memory>
#include <unordered_map>

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

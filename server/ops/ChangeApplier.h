#pragma once

#include "crdt/LwwRecord.h"
#include "crdt/OrRecord.h"

#include <QList>
#include <QSet>
#include <QString>

#include <functional>
#include <optional>

namespace wingman::crdt {
class OrMap;
}
namespace wingman::maps {
class MapRegistry;
}

namespace wingman::ops {

class Committer;

// One change as peers carry it (docs/cluster.md §1, REPLICATE): exactly one of record (LWW),
// orRecord (an OR add) or orTag (an OR tombstone) is set.
struct ReplicatedChange {
    QString mapName;
    QString key;
    std::optional<crdt::LwwRecord> record;
    std::optional<crdt::OrRecord> orRecord;
    std::optional<QString> orTag;
    friend bool operator==(const ReplicatedChange &, const ReplicatedChange &) = default;
};

// The one path for changes that are not client ops (replication now; hints and anti-entropy
// use the same): merge each change as replica state, then commit through the Committer with no
// origin, so every local client hears of it, and without replication, since receivers never
// re-replicate. No policy or interceptors: those ran on the node the client wrote to.
class ChangeApplier
{
public:
    ChangeApplier(maps::MapRegistry &maps, Committer &committer);

    // Merges changes; when any altered this node's state, commits them and calls committed(ok)
    // once storage answered, and returns true. False: nothing changed, nothing to wait for.
    bool apply(const QString &source, const QList<ReplicatedChange> &changes,
        std::function<void(bool ok)> committed);

    // Tombstones older than the cluster's committed GC horizon were pruned everywhere: one that
    // arrives late (a replay, a stale peer) is dropped instead of stored again.
    void setTombstoneHorizon(qint64 millis) { m_tombstoneHorizon = millis; }
    qint64 tombstoneHorizon() const { return m_tombstoneHorizon; }

    quint64 changesApplied() const { return m_applied; }
    // Changes refused because the local map is of the other kind.
    quint64 kindConflicts() const { return m_kindConflicts; }

private:
    bool beforeHorizon(const QString &tag) const;
    static bool holdsTag(const crdt::OrMap &map, const QString &key, const QString &tag);
    void refuseKind(const QString &source, const QString &mapName);

    maps::MapRegistry &m_maps;
    Committer &m_committer;
    qint64 m_tombstoneHorizon = 0;
    quint64 m_applied = 0;
    quint64 m_kindConflicts = 0;
    QSet<QString> m_conflictLogged; // maps whose kind conflict was logged, once each
};

} // namespace wingman::ops

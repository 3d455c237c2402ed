#include "ops/ChangeApplier.h"

#include "maps/MapRegistry.h"
#include "ops/Committer.h"
#include "ops/OperationHandler.h"

#include <algorithm>

namespace wingman::ops {

ChangeApplier::ChangeApplier(maps::MapRegistry &maps, Committer &committer)
    : m_maps(maps)
    , m_committer(committer)
{ }

void ChangeApplier::refuseKind(const QString &source, const QString &mapName)
{
    ++m_kindConflicts;
    if (m_conflictLogged.contains(mapName))
        return;
    m_conflictLogged.insert(mapName);
    qCWarning(lcOps).noquote() << "change from" << source << "refused: map" << mapName
                               << "is of the other kind here";
}

bool ChangeApplier::beforeHorizon(const QString &tag) const
{
    const std::optional<crdt::Timestamp> timestamp = crdt::Timestamp::fromString(tag);
    return timestamp && timestamp->millis < m_tombstoneHorizon;
}

bool ChangeApplier::holdsTag(const crdt::OrMap &map, const QString &key, const QString &tag)
{
    const QList<crdt::OrRecord> records = map.records(key);
    return std::any_of(records.cbegin(), records.cend(),
        [&tag](const crdt::OrRecord &record) { return record.tag == tag; });
}

bool ChangeApplier::apply(const QString &source, const QList<ReplicatedChange> &changes,
    std::function<void(bool ok)> committed)
{
    ChangeSet set;
    set.reserve(changes.size());
    for (const ReplicatedChange &change : changes) {
        if (change.mapName.isEmpty() || change.key.isEmpty())
            continue;
        if (change.record) {
            crdt::LwwMap *map = m_maps.lwwMap(change.mapName);
            if (!map) {
                refuseKind(source, change.mapName);
                continue;
            }
            crdt::LwwRecord record = *change.record;
            if (record.value.isUndefined())
                record.value = QCborValue(QCborValue::Null);
            const bool tombstone = record.isTombstone();
            if (tombstone && record.timestamp.millis < m_tombstoneHorizon)
                continue;
            // A TTL expiry tombstone is announced as UPDATED, as on the node that wrote it.
            bool expiry = false;
            if (tombstone && record.timestamp.counter == 0) {
                const std::optional<crdt::LwwRecord> previous = map->getRecord(change.key);
                expiry = previous && previous->expiryTombstone(record.timestamp.nodeId) == record;
            }
            bool wasLive = false;
            if (!map->merge(change.key, record, &wasLive))
                continue;
            std::optional<crdt::Value> value;
            if (!tombstone && !record.isExpired(map->hlc().clockMillis()))
                value = record.value;
            const auto type = expiry ? protocol::ServerEventType::Updated
                : tombstone          ? protocol::ServerEventType::Remove
                                     : protocol::ServerEventType::Put;
            set.lwwPut(change.mapName, change.key, record, type, std::move(value), wasLive);
            continue;
        }
        if (!change.orRecord && !change.orTag)
            continue;
        crdt::OrMap *map = m_maps.orMap(change.mapName);
        if (!map) {
            refuseKind(source, change.mapName);
            continue;
        }
        if (change.orRecord) {
            m_maps.hlc().update(change.orRecord->timestamp);
            if (map->mergeKey(change.key, { *change.orRecord }).changed())
                set.orAdd(change.mapName, change.key, *change.orRecord, map->liveValue(change.key));
        } else if (!map->isTombstoned(*change.orTag)
            && !(beforeHorizon(*change.orTag) && !holdsTag(*map, change.key, *change.orTag))) {
            map->applyTombstone(*change.orTag);
            set.orTombstone(change.mapName, change.key, *change.orTag, map->liveValue(change.key));
        }
    }
    if (set.isEmpty())
        return false;
    m_applied += quint64(set.writeCount());
    Committer::Steps steps;
    steps.replicate = false;
    if (committed) {
        steps.acknowledge = [committed](const crdt::Timestamp &) { committed(true); };
        steps.failed = [committed](const QString &) { committed(false); };
    }
    m_committer.commit(std::move(set), std::move(steps));
    return true;
}

} // namespace wingman::ops

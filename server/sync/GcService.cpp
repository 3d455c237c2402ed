#include "sync/GcService.h"

#include "ops/MapRegistry.h"
#include "query/QueryRegistry.h"
#include "storage/Storage.h"

#include <algorithm>
#include <limits>
#include <type_traits>

namespace wingman::sync {

Q_LOGGING_CATEGORY(lcGc, "wingman.gc")

namespace {

using Writes = QList<storage::StorageWrite>;
using Changes = QHash<QString, QList<query::Change>>;

// Prunes map's old tombstones and queues their deletion: LWW maps name keys, OR maps tags.
template <typename Map>
int prune(const QString &name, Map &map, const crdt::Timestamp &olderThan, Writes &writes)
{
    constexpr bool lww = std::is_same_v<Map, crdt::LwwMap>;
    const QStringList pruned = map.prune(olderThan);
    for (const QString &keyOrTag : pruned) {
        storage::StorageWrite write;
        write.kind = lww ? storage::StorageWrite::Kind::LwwDelete
                         : storage::StorageWrite::Kind::OrDeleteTombstone;
        write.mapName = name;
        (lww ? write.key : write.tag) = keyOrTag;
        writes.append(std::move(write));
    }
    return int(pruned.size());
}

int expireLww(const QString &name, crdt::LwwMap &map, qint64 now, Writes &writes,
              Changes &changes)
{
    const QList<crdt::LwwMap::Expiry> expired = map.expire(now);
    for (const crdt::LwwMap::Expiry &expiry : expired) {
        query::Change change;
        change.event.mapName = name;
        change.event.key = expiry.key;
        change.event.eventType = protocol::ServerEventType::Updated;
        change.event.record = expiry.tombstone;
        change.wasLive = true; // expire() takes live records only
        changes[name].append(std::move(change));

        storage::StorageWrite write;
        write.kind = storage::StorageWrite::Kind::LwwPut;
        write.mapName = name;
        write.key = expiry.key;
        write.lww = expiry.tombstone;
        writes.append(std::move(write));
    }
    return int(expired.size());
}

int expireOr(const QString &name, crdt::OrMap &map, qint64 now, Writes &writes, Changes &changes)
{
    const QList<crdt::OrMap::Expiry> expired = map.expire(now);
    for (const crdt::OrMap::Expiry &expiry : expired) {
        query::Change change;
        change.event.mapName = name;
        change.event.key = expiry.key;
        change.event.eventType = protocol::ServerEventType::OrRemove;
        change.event.orTag = expiry.tag;
        change.value = map.liveValue(expiry.key);
        changes[name].append(std::move(change));

        storage::StorageWrite write;
        write.kind = storage::StorageWrite::Kind::OrTombstone;
        write.mapName = name;
        write.key = expiry.key;
        write.tag = expiry.tag;
        writes.append(std::move(write));
    }
    return int(expired.size());
}

} // namespace

GcService::GcService(ops::MapRegistry &maps, query::QueryRegistry &queries,
                     storage::Storage &storage, qint64 intervalMs, qint64 ageMs, QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_queries(queries)
    , m_storage(storage)
    , m_ageMs(ageMs)
{
    // QTimer takes an int: a longer interval runs at the longest one it can express.
    m_timer.setInterval(
        int(std::clamp<qint64>(intervalMs, 1, std::numeric_limits<int>::max())));
    connect(&m_timer, &QTimer::timeout, this, [this] { collect(horizon()); });
}

void GcService::start()
{
    m_timer.start();
}

void GcService::stop()
{
    m_timer.stop();
}

qint64 GcService::horizon() const
{
    return m_maps.hlc().clockMillis() - m_ageMs;
}

GcService::Result GcService::collect(qint64 olderThanMillis)
{
    const qint64 now = m_maps.hlc().clockMillis();
    if (olderThanMillis > now) {
        qCWarning(lcGc) << "GC horizon" << olderThanMillis << "is beyond the clock (" << now
                        << "); using the clock's now";
        olderThanMillis = now;
    }
    Result result;
    // An empty node id sorts before every other, so exactly the tombstones with millis below
    // the horizon are pruned.
    result.olderThan = crdt::Timestamp{olderThanMillis, 0, QString()};

    // Pruning before expiring keeps the tombstones this run creates until a later run, so
    // listeners and syncing clients get to see them.
    Writes writes;
    Changes changes;
    const QStringList names = m_maps.mapNames();
    for (const QString &name : names) {
        if (crdt::LwwMap *map = m_maps.findLww(name)) {
            result.pruned += prune(name, *map, result.olderThan, writes);
            result.expired += expireLww(name, *map, now, writes, changes);
        } else if (crdt::OrMap *map = m_maps.findOr(name)) {
            result.pruned += prune(name, *map, result.olderThan, writes);
            result.expired += expireOr(name, *map, now, writes, changes);
        }
    }
    qCDebug(lcGc) << "GC below" << olderThanMillis << "pruned" << result.pruned << "expired"
                  << result.expired;

    m_storage.write(std::move(writes),
                    [this, result, changes = std::move(changes)](const QString &error) {
                        if (!error.isEmpty()) {
                            qCCritical(lcGc).noquote() << "GC commit failed:" << error;
                            Q_EMIT failed(error);
                            return;
                        }
                        const crdt::Timestamp stamp = m_maps.hlc().now();
                        for (auto it = changes.cbegin(); it != changes.cend(); ++it)
                            m_queries.publish(it.key(), it.value(), nullptr, stamp);
                        Q_EMIT collected(result);
                    });
    return result;
}

} // namespace wingman::sync

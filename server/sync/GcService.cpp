#include "sync/GcService.h"

#include "maps/MapRegistry.h"
#include "ops/Committer.h"

#include <algorithm>
#include <limits>
#include <type_traits>

namespace wingman::sync {

Q_LOGGING_CATEGORY(lcGc, "wingman.gc")

namespace {

// Prunes map's old tombstones and queues their deletion: LWW maps name keys, OR maps tags.
template <typename Map>
int pruneMap(
    const QString &name, Map &map, const crdt::Timestamp &olderThan, ops::ChangeSet &changes)
{
    const QStringList pruned = map.prune(olderThan);
    for (const QString &keyOrTag : pruned) {
        if constexpr (std::is_same_v<Map, crdt::LwwMap>)
            changes.lwwDelete(name, keyOrTag);
        else
            changes.orDeleteTombstone(name, keyOrTag);
    }
    return int(pruned.size());
}

using KeyFilter = std::function<bool(const QString &key)>;

int expireMap(const QString &name, crdt::LwwMap &map, qint64 now, const KeyFilter &mayExpire,
    ops::ChangeSet &changes)
{
    const QList<crdt::LwwMap::Expiry> expired = map.expire(now, mayExpire);
    // expire() takes live records only, so each key was live before.
    for (const crdt::LwwMap::Expiry &expiry : expired)
        changes.lwwPut(name, expiry.key, expiry.tombstone, protocol::ServerEventType::Updated,
            std::nullopt, true);
    return int(expired.size());
}

int expireMap(const QString &name, crdt::OrMap &map, qint64 now, const KeyFilter &mayExpire,
    ops::ChangeSet &changes)
{
    const QList<crdt::OrMap::Expiry> expired = map.expire(now, mayExpire);
    for (const crdt::OrMap::Expiry &expiry : expired)
        changes.orTombstone(name, expiry.key, expiry.tag, map.liveValue(expiry.key));
    return int(expired.size());
}

} // namespace

GcService::GcService(maps::MapRegistry &maps, ops::Committer &committer, qint64 intervalMs,
    qint64 ageMs, QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_committer(committer)
    , m_ageMs(ageMs)
{
    // QTimer takes an int: a longer interval runs at the longest one it can express.
    m_timer.setInterval(int(std::clamp<qint64>(intervalMs, 1, std::numeric_limits<int>::max())));
    connect(&m_timer, &QTimer::timeout, this, [this] {
        if (inCluster())
            expire();
        else
            collect(horizon());
    });
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
    return run(olderThanMillis, true);
}

GcService::Result GcService::prune(qint64 olderThanMillis)
{
    return run(olderThanMillis, false);
}

GcService::Result GcService::expire()
{
    return run(std::nullopt, true);
}

GcService::Result GcService::run(std::optional<qint64> pruneBelow, bool expiring)
{
    const qint64 now = m_maps.hlc().clockMillis();
    Result result;
    if (pruneBelow) {
        if (*pruneBelow > now) {
            qCWarning(lcGc) << "GC horizon" << *pruneBelow << "is beyond the clock (" << now
                            << "); using the clock's now";
            pruneBelow = now;
        }
        // An empty node id sorts before every other, so exactly the tombstones with millis below
        // the horizon are pruned.
        result.olderThan = crdt::Timestamp { *pruneBelow, 0, QString() };
    }
    KeyFilter mayExpire;
    if (inCluster())
        mayExpire
            = m_rule.ownsKey ? m_rule.ownsKey : KeyFilter([](const QString &) { return false; });

    // Pruning before expiring keeps the tombstones this run creates until a later run, so
    // listeners and syncing clients get to see them.
    ops::ChangeSet changes;
    const QStringList names = m_maps.mapNames();
    for (const QString &name : names) {
        if (crdt::LwwMap *map = m_maps.findLww(name)) {
            if (pruneBelow)
                result.pruned += pruneMap(name, *map, result.olderThan, changes);
            if (expiring)
                result.expired += expireMap(name, *map, now, mayExpire, changes);
        } else if (crdt::OrMap *map = m_maps.findOr(name)) {
            if (pruneBelow)
                result.pruned += pruneMap(name, *map, result.olderThan, changes);
            if (expiring)
                result.expired += expireMap(name, *map, now, mayExpire, changes);
        }
    }
    qCDebug(lcGc) << "GC below" << result.olderThan.millis << "pruned" << result.pruned << "expired"
                  << result.expired;

    ops::Committer::Steps steps;
    steps.failed = [this](const QString &error) {
        qCCritical(lcGc).noquote() << "GC commit failed:" << error;
        Q_EMIT failed(error);
    };
    steps.afterCommit = [this, result] {
        ++m_totals.runs;
        m_totals.pruned += quint64(result.pruned);
        m_totals.expired += quint64(result.expired);
        Q_EMIT collected(result);
    };
    m_committer.commit(std::move(changes), std::move(steps));
    return result;
}

int GcService::discardOlderThan(qint64 olderThanMillis, std::function<void(bool ok)> done)
{
    const crdt::Timestamp olderThan { olderThanMillis, 0, QString() };
    ops::ChangeSet changes;
    int discarded = 0;
    const QStringList names = m_maps.mapNames();
    for (const QString &name : names) {
        if (crdt::LwwMap *map = m_maps.findLww(name)) {
            const QStringList keys = map->discardOlderThan(olderThan);
            for (const QString &key : keys)
                changes.lwwDelete(name, key);
            discarded += int(keys.size());
        } else if (crdt::OrMap *map = m_maps.findOr(name)) {
            const QList<crdt::OrMap::Expiry> records = map->discardOlderThan(olderThan);
            for (const crdt::OrMap::Expiry &record : records)
                changes.orDiscard(name, record.tag);
            discarded += int(records.size()) + pruneMap(name, *map, olderThan, changes);
        }
    }
    qCInfo(lcGc) << "discarded" << discarded << "records and tombstones older than"
                 << olderThanMillis;
    ops::Committer::Steps steps;
    steps.replicate = false;
    steps.acknowledge = [done](const crdt::Timestamp &) {
        if (done)
            done(true);
    };
    steps.failed = [done](const QString &error) {
        qCCritical(lcGc).noquote() << "discard failed:" << error;
        if (done)
            done(false);
    };
    m_committer.commit(std::move(changes), std::move(steps));
    return discarded;
}

} // namespace wingman::sync

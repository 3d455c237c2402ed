#pragma once

#include "crdt/Timestamp.h"

#include <QLoggingCategory>
#include <QObject>
#include <QTimer>

namespace wingman::ops {
class MapRegistry;
}
namespace wingman::query {
class QueryRegistry;
}
namespace wingman::storage {
class Storage;
}

namespace wingman::sync {

Q_DECLARE_LOGGING_CATEGORY(lcGc)

// Garbage collection of one node's maps (server.md "GC and TTL"). A run deletes the tombstones
// older than a horizon from maps, Merkle trees and storage, and turns every record past its TTL
// into a tombstone, which is persisted, sent to the map's listeners (SERVER_EVENT UPDATED, or
// OR_REMOVE for an OR map) and fed to live queries. Time is the maps' clock, so tests move it.
// Every gcInterval the timer runs one with the horizon now - gcAge.
class GcService : public QObject
{
    Q_OBJECT
public:
    struct Result {
        crdt::Timestamp olderThan; // tombstones below it were pruned
        int pruned = 0; // LWW tombstones and OR tombstone tags deleted
        int expired = 0; // records turned into tombstones by their TTL
    };

    GcService(ops::MapRegistry &maps, query::QueryRegistry &queries, storage::Storage &storage,
              qint64 intervalMs, qint64 ageMs, QObject *parent = nullptr);

    // Starts or stops the periodic runs.
    void start();
    void stop();
    bool isActive() const { return m_timer.isActive(); }

    // now - gcAge on the maps' clock: what the periodic run prunes below.
    qint64 horizon() const;
    // One run. The maps change at once; storage, events and collected() follow the commit. A
    // horizon beyond the clock's now is clamped to now: a tombstone is never pruned before it
    // exists on the clock.
    Result collect(qint64 olderThanMillis);

Q_SIGNALS:
    // A run's changes are committed and sent.
    void collected(const wingman::sync::GcService::Result &result);
    // A run's changes could not be committed.
    void failed(const QString &reason);

private:
    ops::MapRegistry &m_maps;
    query::QueryRegistry &m_queries;
    storage::Storage &m_storage;
    qint64 m_ageMs;
    QTimer m_timer;
};

} // namespace wingman::sync

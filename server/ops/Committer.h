#pragma once

#include "ops/ChangeSet.h"
#include "protocol/Enums.h"

#include <QLoggingCategory>
#include <QPointer>

#include <functional>

namespace wingman::crdt {
class Hlc;
}
namespace wingman::network {
class Session;
}

namespace wingman::ops {

Q_DECLARE_LOGGING_CATEGORY(lcCommit)

// What an acked client write asks of its peers. The replication hook may then replace
// Steps::acknowledge so that the ack also waits for the peers' durable commits
// (docs/cluster.md §4) and calls this acknowledge; replicated: the REPLICATED set was met.
struct AckWait {
    protocol::WriteConcern requested = protocol::WriteConcern::Persisted;
    std::optional<qint64> timeoutMs;
    std::function<void(const crdt::Timestamp &now, bool replicated)> acknowledge;
};

// The one tail of every write, whoever made it (client ops, an OR-map push, GC): persist the
// ChangeSet, then acknowledge, then publish it to listeners and live queries (all but the
// origin) and the journal's subscribers, then run the after-commit hooks, then tell the commit
// observers (replication).
// Nothing is acknowledged or published before storage says it is committed; a failed commit is
// only reported.
class Committer
{
public:
    struct Steps {
        QPointer<network::Session> origin; // not sent its own changes; null for server writes
        std::function<void(const crdt::Timestamp &now)> acknowledge;
        std::function<void(const QString &error)> failed;
        std::function<void()> afterCommit;
        // False for changes that came from peers: receivers never re-replicate.
        bool replicate = true;
        // Set by the write path for an acked client write when the node may have peers.
        std::optional<AckWait> ackWait;
    };
    using Observer = std::function<void(const ChangeSet &)>;
    // Runs at the start of a commit with Steps::replicate, before storage is asked, so peers
    // persist in parallel with this node; it may wrap steps.acknowledge.
    using Replication = std::function<void(const ChangeSet &, Steps &)>;
    // Runs with every ChangeSet that announces changes, before storage is asked: appends the
    // writes that must commit in the same transaction (the event journal's entries) and returns
    // what to run once they are committed, or null.
    using Journal = std::function<std::function<void()>(
        const ChangeSet &, QList<storage::StorageWrite> &writes)>;

    Committer(storage::Storage &storage, live::QueryRegistry &queries, crdt::Hlc &hlc);

    void commit(ChangeSet changes, Steps steps);
    // Called with every committed ChangeSet after it is published.
    void addObserver(Observer observer);
    void setReplication(Replication replication) { m_replication = std::move(replication); }
    bool hasReplication() const { return bool(m_replication); }
    void setJournal(Journal journal) { m_journal = std::move(journal); }
    // True when a committed write survives a crash of the process.
    bool isDurable() const;

private:
    storage::Storage &m_storage;
    live::QueryRegistry &m_queries;
    crdt::Hlc &m_hlc;
    QList<Observer> m_observers;
    Replication m_replication;
    Journal m_journal;
};

} // namespace wingman::ops

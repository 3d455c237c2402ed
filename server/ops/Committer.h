#pragma once

#include "ops/ChangeSet.h"

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

// The one tail of every write, whoever made it (client ops, an OR-map push, GC): persist the
// ChangeSet, then acknowledge, then publish it to listeners and live queries (all but the
// origin), then run the after-commit hooks, then tell the commit observers (replication).
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
    };
    using Observer = std::function<void(const ChangeSet &)>;

    Committer(storage::Storage &storage, live::QueryRegistry &queries, crdt::Hlc &hlc);

    void commit(ChangeSet changes, Steps steps);
    // Called with every committed ChangeSet after it is published.
    void addObserver(Observer observer);
    // True when a committed write survives a crash of the process.
    bool isDurable() const;

private:
    storage::Storage &m_storage;
    live::QueryRegistry &m_queries;
    crdt::Hlc &m_hlc;
    QList<Observer> m_observers;
};

} // namespace wingman::ops

#include "ops/Committer.h"

#include "crdt/Hlc.h"
#include "network/Session.h"

namespace wingman::ops {

Q_LOGGING_CATEGORY(lcCommit, "wingman.commit")

Committer::Committer(storage::Storage &storage, live::QueryRegistry &queries, crdt::Hlc &hlc)
    : m_storage(storage)
    , m_queries(queries)
    , m_hlc(hlc)
{ }

void Committer::addObserver(Observer observer)
{
    m_observers.append(std::move(observer));
}

bool Committer::isDurable() const
{
    return m_storage.isDurable();
}

void Committer::commit(ChangeSet changes, Steps steps)
{
    // Implicitly shared: observers still see the writes once storage has them.
    if (m_replication && steps.replicate && !changes.isEmpty())
        m_replication(changes, steps);
    QList<storage::StorageWrite> writes = changes.writes();
    std::function<void()> journaled;
    if (m_journal && !changes.changesByMap().isEmpty())
        journaled = m_journal(changes, writes);
    auto committed = [this, changes = std::move(changes), steps = std::move(steps),
                         journaled = std::move(journaled)](const QString &error) {
        if (!error.isEmpty()) {
            qCCritical(lcCommit).noquote() << "storage commit failed:" << error;
            if (steps.failed)
                steps.failed(error);
            return;
        }
        const crdt::Timestamp now = m_hlc.now();
        if (steps.acknowledge)
            steps.acknowledge(now);
        const auto &byMap = changes.changesByMap();
        for (auto it = byMap.cbegin(); it != byMap.cend(); ++it)
            m_queries.publish(it.key(), it.value(), steps.origin.data(), now);
        if (journaled)
            journaled();
        if (steps.afterCommit)
            steps.afterCommit();
        for (const Observer &observer : std::as_const(m_observers))
            observer(changes);
    };
    m_storage.write(std::move(writes), std::move(committed));
}

} // namespace wingman::ops

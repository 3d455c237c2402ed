#include "cluster/AckTracker.h"

#include <QDateTime>

#include <algorithm>

namespace wingman::cluster {

AckTracker::AckTracker(Clock clock, qint64 defaultTimeoutMs)
    : m_clock(clock ? std::move(clock) : Clock([] { return QDateTime::currentMSecsSinceEpoch(); }))
    , m_defaultTimeoutMs(defaultTimeoutMs)
{ }

QStringList AckTracker::ackSet(const PartitionTable &table, int partition, const QString &local,
    std::optional<protocol::WriteConcern> requested, const Reachable &reachable, bool *incomplete)
{
    using protocol::WriteConcern;
    *incomplete = false;
    if (requested == WriteConcern::FireAndForget || requested == WriteConcern::Memory)
        return {};
    const QStringList order = table.preference(partition);
    const auto usable = [&](const QString &node, const QStringList &chosen) {
        return node != local && !chosen.contains(node) && reachable(node);
    };
    QStringList chosen;
    if (requested != WriteConcern::Replicated) {
        for (const QString &node : order) {
            if (usable(node, chosen))
                return { node };
        }
        *incomplete = true;
        return {};
    }
    // The owner and its backups lead R(p); the entry's own slot needs nobody else.
    const qsizetype slots = qMin<qsizetype>(1 + table.backupCount(), order.size());
    int missing = 0;
    for (qsizetype i = 0; i < slots; ++i) {
        const QString &node = order.at(i);
        if (node == local)
            continue;
        if (reachable(node))
            chosen.append(node);
        else
            ++missing;
    }
    // REPLICATED includes the default set: at least one copy beyond the entry, even where the
    // table's owner and backups are the entry alone.
    if (chosen.isEmpty() && missing == 0)
        missing = 1;
    for (qsizetype i = slots; i < order.size() && missing > 0; ++i) {
        if (usable(order.at(i), chosen)) {
            chosen.append(order.at(i));
            --missing;
        }
    }
    *incomplete = missing > 0;
    return chosen;
}

quint64 AckTracker::open(QHash<QString, quint64> need, bool incomplete, bool replicatedRequested,
    std::optional<qint64> timeoutMs, Done done)
{
    const quint64 id = m_nextId++;
    Wait wait;
    wait.remaining = int(need.size());
    wait.degraded = incomplete;
    wait.replicated = replicatedRequested && !incomplete;
    wait.deadline = m_clock() + (timeoutMs && *timeoutMs > 0 ? *timeoutMs : m_defaultTimeoutMs);
    wait.done = std::move(done);
    for (auto it = need.cbegin(); it != need.cend(); ++it)
        m_byPeer[it.key()].emplace_back(it.value(), id);
    if (wait.remaining > 0)
        wait.deadlineEntry = m_deadlines.emplace(wait.deadline, id);
    m_waits.emplace(id, std::move(wait));
    return id;
}

void AckTracker::localCommitted(quint64 id)
{
    const auto it = m_waits.find(id);
    if (it == m_waits.end())
        return;
    it->second.localDone = true;
    it->second.localAt = m_clock();
    maybeFinish(id);
}

void AckTracker::acked(const QString &peer, quint64 upTo)
{
    const auto queue = m_byPeer.find(peer);
    if (queue == m_byPeer.end())
        return;
    while (!queue->empty() && queue->front().first <= upTo) {
        const quint64 id = queue->front().second;
        queue->pop_front();
        const auto it = m_waits.find(id);
        if (it == m_waits.end())
            continue;
        --it->second.remaining;
        maybeFinish(id);
    }
}

void AckTracker::expire()
{
    const qint64 now = m_clock();
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
        const quint64 id = m_deadlines.begin()->second;
        m_deadlines.erase(m_deadlines.begin());
        const auto it = m_waits.find(id);
        if (it == m_waits.end())
            continue;
        it->second.deadlineEntry.reset();
        it->second.remaining = 0;
        it->second.degraded = true;
        it->second.replicated = false;
        maybeFinish(id);
    }
    // Waits that ended without a peer's ack leave their entries; a peer that never acks again
    // must not keep them forever.
    for (auto &queue : m_byPeer) {
        while (!queue.empty() && !m_waits.contains(queue.front().second))
            queue.pop_front();
    }
}

void AckTracker::cancel(quint64 id)
{
    const auto it = m_waits.find(id);
    if (it == m_waits.end())
        return;
    if (it->second.deadlineEntry)
        m_deadlines.erase(*it->second.deadlineEntry);
    m_waits.erase(it);
}

std::optional<qint64> AckTracker::nextDeadline() const
{
    if (m_deadlines.empty())
        return std::nullopt;
    return m_deadlines.begin()->first;
}

void AckTracker::maybeFinish(quint64 id)
{
    const auto it = m_waits.find(id);
    if (it == m_waits.end() || !it->second.localDone || it->second.remaining > 0)
        return;
    Wait wait = std::move(it->second);
    m_waits.erase(it);
    if (wait.deadlineEntry)
        m_deadlines.erase(*wait.deadlineEntry);
    if (wait.degraded)
        ++m_degraded;
    else
        ++m_met;
    const qint64 waited = qMax<qint64>(0, m_clock() - wait.localAt);
    m_waitedMs += waited;
    const auto bucket = std::lower_bound(kWaitBoundsMs.cbegin(), kWaitBoundsMs.cend(), waited);
    ++m_histogram[size_t(bucket - kWaitBoundsMs.cbegin())];
    if (wait.done)
        wait.done({ wait.replicated, wait.degraded });
}

} // namespace wingman::cluster

#include "cluster/WriteReplication.h"

#include "cluster/PeerBus.h"
#include "ops/OpRouter.h"

#include <algorithm>
#include <bitset>
#include <chrono>
#include <memory>

namespace wingman::cluster {

WriteReplication::WriteReplication(PeerBus &bus, maps::MapRegistry &maps, ops::Committer &committer,
    ops::OpRouter &router, Options options, QObject *parent)
    : QObject(parent)
    , m_bus(bus)
    , m_committer(committer)
    , m_applier(maps, committer)
    , m_replicator(bus, m_applier, options.replicator)
    , m_tracker(options.clock, options.writeAckTimeoutMs)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        m_tracker.expire();
        armTimer();
    });
    connect(&m_replicator, &Replicator::acked, this, [this](const QString &peer, quint64 upTo) {
        m_tracker.acked(peer, upTo);
        armTimer();
    });
    connect(&bus, &PeerBus::membersChanged, this, [this] { m_fallbackStale = true; });
    committer.setReplication([this](const ops::ChangeSet &changes, ops::Committer::Steps &steps) {
        onCommit(changes, steps);
    });
    router.setLocalNodeId(bus.localNodeId());
    router.setOwnerLookup([&bus](const QString &, const QString &key) {
        const PartitionTable &table = bus.table();
        return table.isEmpty() ? QString() : table.owner(PartitionTable::partitionOf(key));
    });
}

WriteReplication::~WriteReplication()
{
    m_committer.setReplication({});
}

const PartitionTable &WriteReplication::table()
{
    if (!m_bus.table().isEmpty())
        return m_bus.table();
    if (m_fallbackStale) {
        QStringList members = m_bus.replicaPeers();
        members.append(m_bus.localNodeId());
        m_fallbackTable = PartitionTable(0, m_bus.localNodeId(), members, 1, 0);
        m_fallbackStale = false;
    }
    return m_fallbackTable;
}

void WriteReplication::onCommit(const ops::ChangeSet &changes, ops::Committer::Steps &steps)
{
    const Replicator::Ticket ticket = m_replicator.replicate(changes);
    if (!steps.ackWait || !steps.acknowledge)
        return;
    const ops::AckWait &wait = *steps.ackWait;
    // A single node: the plain acknowledge after the local commit stays, and nothing is degraded.
    if (!m_bus.isClustered())
        return;

    const PartitionTable &partitions = table();
    const QString local = m_bus.localNodeId();
    const AckTracker::Reachable reachable = [&](const QString &node) {
        return ticket.contains(node) && m_bus.isReachable(node) && !m_replicator.isOverflowed(node);
    };
    QHash<QString, quint64> need;
    bool incomplete = false;
    std::bitset<PartitionTable::kPartitionCount> seen; // keys of one partition share a set
    for (const storage::StorageWrite &write : changes.writes()) {
        if (write.key.isEmpty())
            continue;
        const int partition = PartitionTable::partitionOf(write.key);
        if (seen.test(size_t(partition)))
            continue;
        seen.set(size_t(partition));
        bool missing = false;
        for (const QString &node :
            AckTracker::ackSet(partitions, partition, local, wait.requested, reachable, &missing))
            need.insert(node, ticket.value(node));
        incomplete = incomplete || missing;
    }

    auto state = std::make_shared<crdt::Timestamp>();
    const quint64 id = m_tracker.open(std::move(need), incomplete,
        wait.requested == protocol::WriteConcern::Replicated, wait.timeoutMs,
        [state, acknowledge = wait.acknowledge](
            AckTracker::Result result) { acknowledge(*state, result.replicated); });
    QPointer<WriteReplication> self(this);
    steps.acknowledge = [self, id, state](const crdt::Timestamp &now) {
        *state = now;
        if (self) {
            self->m_tracker.localCommitted(id);
            self->armTimer();
        }
    };
    steps.failed = [self, id, failed = std::move(steps.failed)](const QString &error) {
        if (self)
            self->m_tracker.cancel(id);
        if (failed)
            failed(error);
    };
    armTimer();
}

bool WriteReplication::hasPendingForPeers() const
{
    if (m_tracker.pending() > 0)
        return true;
    const QStringList peers = m_bus.replicaPeers();
    return std::any_of(peers.cbegin(), peers.cend(), [this](const QString &peer) {
        return m_bus.isReachable(peer) && m_replicator.queueBytes(peer) > 0;
    });
}

void WriteReplication::armTimer()
{
    const std::optional<qint64> deadline = m_tracker.nextDeadline();
    if (!deadline) {
        m_timer.stop();
        return;
    }
    const qint64 wait = qBound<qint64>(0, *deadline - m_tracker.now(), 24LL * 3600 * 1000);
    if (m_timer.isActive() && m_timer.remainingTime() <= wait)
        return;
    m_timer.start(std::chrono::milliseconds(wait));
}

} // namespace wingman::cluster

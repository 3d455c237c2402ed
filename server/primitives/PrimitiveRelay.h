#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

namespace wingman::cluster {
class PeerBus;
}

namespace wingman::primitives {

class CounterService;
class LockService;
class TopicService;

// Topics and PN counters across the cluster (docs/cluster.md §7) over the PeerBus: a publication
// goes as TOPIC {topic, data, publisherId} to every reachable member, which delivers it to its
// own subscribers (no hints: a member unreachable at publish time misses it); a counter changed
// here goes as COUNTER {name, state} to every reachable member, which merges it; what a member
// missed is repaired by anti-entropy (counter digests in MERKLE_ROOTS). Locks live on the owner
// of their name's partition; the relay carries LockService's frames and tells it of link-ups,
// table changes and members going down.
class PrimitiveRelay : public QObject
{
    Q_OBJECT
public:
    static constexpr QLatin1StringView kTopic { "TOPIC" };
    static constexpr QLatin1StringView kCounter { "COUNTER" };

    PrimitiveRelay(cluster::PeerBus &bus, TopicService &topics, CounterService &counters,
        LockService &locks, QObject *parent = nullptr);

private:
    void onFrame(const QString &nodeId, const QString &type, const QByteArray &body);
    // To every member with a link up; returns those it was queued to.
    QStringList broadcast(const QByteArray &body);

    cluster::PeerBus &m_bus;
    TopicService &m_topics;
    CounterService &m_counters;
    LockService &m_locks;
};

} // namespace wingman::primitives

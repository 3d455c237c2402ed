#include "LoopbackBus.h"

#include "wire/MsgPackCodec.h"

#include <QCborMap>
#include <QMetaObject>

namespace wingman::test {

LoopbackBus::LoopbackBus(LoopbackCluster &cluster, QString nodeId)
    : m_cluster(cluster)
    , m_nodeId(std::move(nodeId))
{ }

QStringList LoopbackBus::replicaPeers() const
{
    QStringList peers = m_cluster.nodeIds();
    peers.removeAll(m_nodeId);
    return peers;
}

bool LoopbackBus::isReachable(const QString &nodeId) const
{
    return nodeId != m_nodeId && m_cluster.bus(nodeId) && m_cluster.isLinked(m_nodeId, nodeId);
}

bool LoopbackBus::send(const QString &nodeId, const QByteArray &body)
{
    return isReachable(nodeId) && m_cluster.route(m_nodeId, nodeId, body);
}

void LoopbackBus::setTable(const cluster::PartitionTable &table)
{
    m_table = table;
    Q_EMIT tableChanged(m_table);
}

LoopbackBus *LoopbackCluster::add(const QString &nodeId)
{
    auto bus = std::make_unique<LoopbackBus>(*this, nodeId);
    LoopbackBus *raw = bus.get();
    m_buses[nodeId] = std::move(bus);
    for (const auto &[id, other] : m_buses) {
        if (id != nodeId)
            Q_EMIT other->membersChanged();
    }
    return raw;
}

LoopbackBus *LoopbackCluster::bus(const QString &nodeId) const
{
    const auto it = m_buses.find(nodeId);
    return it == m_buses.end() ? nullptr : it->second.get();
}

QStringList LoopbackCluster::nodeIds() const
{
    QStringList ids;
    for (const auto &entry : m_buses)
        ids.append(entry.first);
    return ids;
}

LoopbackCluster::Pair LoopbackCluster::pair(const QString &a, const QString &b)
{
    return a < b ? Pair { a, b } : Pair { b, a };
}

bool LoopbackCluster::isLinked(const QString &a, const QString &b) const
{
    return !m_cut.contains(pair(a, b));
}

void LoopbackCluster::cut(const QString &a, const QString &b)
{
    if (m_cut.contains(pair(a, b)))
        return;
    m_cut.insert(pair(a, b));
    ++m_generation[pair(a, b)];
    m_held.remove({ a, b });
    m_held.remove({ b, a });
    Q_EMIT bus(a)->linkDown(b);
    Q_EMIT bus(b)->linkDown(a);
}

void LoopbackCluster::heal(const QString &a, const QString &b)
{
    if (!m_cut.remove(pair(a, b)))
        return;
    Q_EMIT bus(a)->linkUp(b);
    Q_EMIT bus(b)->linkUp(a);
}

void LoopbackCluster::hold(const QString &from, const QString &to, const QString &type)
{
    m_hold.insert({ from, to }, type);
}

void LoopbackCluster::release(const QString &from, const QString &to)
{
    m_hold.remove({ from, to });
    const QList<Frame> frames = m_held.take({ from, to });
    const quint64 generation = m_generation.value(pair(from, to));
    for (const Frame &frame : frames)
        deliver(frame, generation);
}

qsizetype LoopbackCluster::heldCount(const QString &from, const QString &to) const
{
    return m_held.value({ from, to }).size();
}

void LoopbackCluster::setTable(qint64 version, int backupCount)
{
    const QStringList ids = nodeIds();
    const cluster::PartitionTable table(version, ids.value(0), ids, backupCount, 0);
    for (const auto &entry : m_buses)
        entry.second->setTable(table);
}

qsizetype LoopbackCluster::deliveredCount(
    const QString &from, const QString &to, const QString &type) const
{
    qsizetype count = 0;
    for (const Frame &frame : m_delivered) {
        if (frame.from == from && frame.to == to && (type.isEmpty() || frame.type == type))
            ++count;
    }
    return count;
}

QString LoopbackCluster::typeOf(const QByteArray &body)
{
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    return decoded.value.toMap().value(QLatin1StringView("type")).toString();
}

bool LoopbackCluster::route(const QString &from, const QString &to, const QByteArray &body)
{
    Frame frame { from, to, typeOf(body), body };
    const auto hold = m_hold.constFind({ from, to });
    if (hold != m_hold.cend() && (hold->isEmpty() || *hold == frame.type)) {
        m_held[{ from, to }].append(std::move(frame));
        return true;
    }
    // Frames released earlier still go first: one link keeps its order.
    deliver(std::move(frame), m_generation.value(pair(from, to)));
    return true;
}

void LoopbackCluster::deliver(Frame frame, quint64 generation)
{
    QMetaObject::invokeMethod(
        this,
        [this, frame = std::move(frame), generation] {
            LoopbackBus *target = bus(frame.to);
            if (!target || m_generation.value(pair(frame.from, frame.to)) != generation
                || !isLinked(frame.from, frame.to))
                return;
            m_delivered.append(frame);
            Q_EMIT target->frameReceived(frame.from, frame.type, frame.body);
        },
        Qt::QueuedConnection);
}

} // namespace wingman::test

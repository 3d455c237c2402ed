#include "primitives/PrimitiveRelay.h"

#include "cluster/PeerBus.h"
#include "primitives/CounterService.h"
#include "primitives/LockService.h"
#include "primitives/PrimitivesLogging.h"
#include "primitives/TopicService.h"
#include "wire/MsgPackCodec.h"

#include <QCborMap>

namespace wingman::primitives {

namespace {

const QString kType = QStringLiteral("type");

QByteArray counterBody(const QString &name, const CounterState &state)
{
    return wire::MsgPackCodec::encode(QCborMap { { kType, PrimitiveRelay::kCounter },
        { QStringLiteral("name"), name }, { QStringLiteral("state"), state.toCbor() } });
}

} // namespace

PrimitiveRelay::PrimitiveRelay(cluster::PeerBus &bus, TopicService &topics,
    CounterService &counters, LockService &locks, QObject *parent)
    : QObject(parent)
    , m_bus(bus)
    , m_topics(topics)
    , m_counters(counters)
    , m_locks(locks)
{
    connect(&bus, &cluster::PeerBus::frameReceived, this, &PrimitiveRelay::onFrame);
    connect(&bus, &cluster::PeerBus::linkUp, &locks, &LockService::linkUp);
    connect(&bus, &cluster::PeerBus::linkDown, &locks, &LockService::linkDown);
    connect(&bus, &cluster::PeerBus::tableChanged, &locks, [this] { m_locks.tableChanged(); });
    connect(&bus, &cluster::PeerBus::memberDown, &locks,
        [this](const QString &nodeId) { m_locks.memberDown(nodeId); });
    m_topics.setRelay(
        [this](const QString &topic, const QCborValue &data, const QString &publisherId) {
            QCborMap frame { { kType, kTopic }, { QStringLiteral("topic"), topic } };
            if (!data.isUndefined())
                frame.insert(QStringLiteral("data"), data);
            frame.insert(QStringLiteral("publisherId"), publisherId);
            broadcast(wire::MsgPackCodec::encode(frame));
        });
    m_counters.setRelay([this](const QString &name, const CounterState &state) {
        broadcast(counterBody(name, state));
    });
    LockService::Cluster lockCluster;
    lockCluster.isClustered = [this] { return m_bus.isClustered(); };
    lockCluster.localNodeId = [this] { return m_bus.localNodeId(); };
    lockCluster.ownerOf = [this](const QString &name) {
        const cluster::PartitionTable &table = m_bus.table();
        if (!m_bus.isClustered() || table.isEmpty())
            return QString();
        const QString owner = table.owner(cluster::PartitionTable::partitionOf(name));
        return owner == m_bus.localNodeId() ? QString() : owner;
    };
    // A link is enough: right after a heal the member may still read as down for a moment.
    lockCluster.send = [this](const QString &nodeId, const QCborMap &frame) {
        return m_bus.send(nodeId, wire::MsgPackCodec::encode(frame));
    };
    lockCluster.broadcast
        = [this](const QCborMap &frame) { return broadcast(wire::MsgPackCodec::encode(frame)); };
    m_locks.setCluster(std::move(lockCluster));
}

QStringList PrimitiveRelay::broadcast(const QByteArray &body)
{
    QStringList reached;
    if (!m_bus.isClustered())
        return reached;
    const QStringList peers = m_bus.replicaPeers();
    for (const QString &peer : peers) {
        if (m_bus.isReachable(peer) && m_bus.send(peer, body))
            reached.append(peer);
    }
    return reached;
}

void PrimitiveRelay::onFrame(const QString &nodeId, const QString &type, const QByteArray &body)
{
    const bool lockFrame = type == LockService::kRequestFrame || type == LockService::kGrantFrame
        || type == LockService::kReleaseFrame || type == LockService::kReleasedFrame
        || type == LockService::kTokenFrame || type == LockService::kTokenAckFrame
        || type == LockService::kClientGoneFrame;
    if (type != kTopic && type != kCounter && !lockFrame)
        return;
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    if (lockFrame) {
        if (!decoded.ok || !decoded.value.isMap()) {
            qCWarning(lcPrimitives) << "unreadable" << type << "frame from" << nodeId;
            return;
        }
        m_locks.handleFrame(nodeId, type, decoded.value.toMap());
        return;
    }
    const QCborMap frame = decoded.value.toMap();
    const QCborValue name
        = frame.value(type == kTopic ? QStringLiteral("topic") : QStringLiteral("name"));
    if (!decoded.ok || !name.isString() || name.toString().isEmpty()) {
        qCWarning(lcPrimitives) << "unreadable" << type << "frame from" << nodeId;
        return;
    }
    if (type == kTopic) {
        m_topics.deliver(name.toString(), frame.value(QStringLiteral("data")),
            frame.value(QStringLiteral("publisherId")).toString());
        return;
    }
    const std::optional<CounterState> state
        = CounterState::fromCbor(frame.value(QStringLiteral("state")).toMap());
    if (!state) {
        qCWarning(lcPrimitives) << "invalid COUNTER state from" << nodeId << "for"
                                << name.toString();
        return;
    }
    m_counters.mergeRemote(name.toString(), *state);
}

} // namespace wingman::primitives

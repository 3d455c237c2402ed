#include "primitives/PrimitiveRelay.h"

#include "cluster/PeerBus.h"
#include "primitives/CounterService.h"
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

PrimitiveRelay::PrimitiveRelay(
    cluster::PeerBus &bus, TopicService &topics, CounterService &counters, QObject *parent)
    : QObject(parent)
    , m_bus(bus)
    , m_topics(topics)
    , m_counters(counters)
{
    connect(&bus, &cluster::PeerBus::frameReceived, this, &PrimitiveRelay::onFrame);
    connect(&bus, &cluster::PeerBus::linkUp, this, &PrimitiveRelay::sendCounters);
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
}

void PrimitiveRelay::broadcast(const QByteArray &body)
{
    if (!m_bus.isClustered())
        return;
    const QStringList peers = m_bus.replicaPeers();
    for (const QString &peer : peers) {
        if (m_bus.isReachable(peer))
            m_bus.send(peer, body);
    }
}

void PrimitiveRelay::sendCounters(const QString &nodeId)
{
    const QStringList names = m_counters.knownNames();
    for (const QString &name : names)
        m_bus.send(nodeId, counterBody(name, m_counters.state(name)));
}

void PrimitiveRelay::onFrame(const QString &nodeId, const QString &type, const QByteArray &body)
{
    if (type != kTopic && type != kCounter)
        return;
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
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

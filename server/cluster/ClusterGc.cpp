#include "cluster/ClusterGc.h"

#include "cluster/ClusterModule.h"
#include "cluster/PeerBus.h"
#include "maps/MapRegistry.h"
#include "ops/ChangeApplier.h"
#include "storage/Storage.h"
#include "sync/GcService.h"
#include "wire/MsgPackCodec.h"

#include <QCborMap>

#include <algorithm>
#include <limits>

namespace wingman::cluster {

namespace {

const QLatin1StringView kType("GC_HORIZON");
const QLatin1StringView kReport("report");
const QLatin1StringView kCommit("commit");

QString field(const char *name)
{
    return QString::fromLatin1(name);
}

QCborMap frameOf(quint64 round, QLatin1StringView phase)
{
    QCborMap frame;
    frame.insert(field("type"), kType);
    frame.insert(field("round"), qint64(round));
    frame.insert(field("phase"), phase);
    return frame;
}

} // namespace

ClusterGc::ClusterGc(PeerBus &bus, maps::MapRegistry &maps, sync::GcService &gc,
    ops::ChangeApplier &applier, storage::Storage &storage, Options options, QObject *parent)
    : QObject(parent)
    , m_bus(bus)
    , m_maps(maps)
    , m_gc(gc)
    , m_applier(applier)
    , m_storage(storage)
    , m_options(std::move(options))
{
    connect(&bus, &PeerBus::frameReceived, this, &ClusterGc::onFrame);
    connect(&bus, &PeerBus::linkUp, this, &ClusterGc::onLinkUp);
    connect(&bus, &PeerBus::membersChanged, this, &ClusterGc::onMembersChanged);
    connect(&m_timer, &QTimer::timeout, this, &ClusterGc::tick);
    m_timer.start(
        int(std::clamp<qint64>(m_options.intervalMs, 1, std::numeric_limits<int>::max())));
}

void ClusterGc::load()
{
    if (m_loaded || !m_storage.isOpen())
        return;
    m_loaded = true;
    m_horizon = m_storage.loadMeta(QString::fromLatin1(kHorizonMeta)).toLongLong();
    m_lastContact = m_storage.loadMeta(QString::fromLatin1(kLastContactMeta)).toLongLong();
    m_storedContact = m_lastContact;
    m_applier.setTombstoneHorizon(m_horizon);
}

qint64 ClusterGc::now() const
{
    return m_maps.hlc().clockMillis();
}

bool ClusterGc::isCoordinator() const
{
    return m_bus.table().coordinator() == m_bus.localNodeId();
}

bool ClusterGc::send(const QString &peer, const QCborMap &frame)
{
    return m_bus.send(peer, wire::MsgPackCodec::encode(frame));
}

void ClusterGc::noteContact()
{
    load();
    m_lastContact = now();
    // Contact comes with every anti-entropy round with every peer; storing each one would be a
    // commit every few seconds. A stored value at most one GC interval (or a minute) old only
    // makes a node that restarts after a crash judge its absence a little longer than it was.
    const qint64 step = std::min<qint64>(m_options.intervalMs, 60'000);
    if (m_storage.isOpen() && m_lastContact - m_storedContact >= step) {
        m_storedContact = m_lastContact;
        m_storage.storeMeta(QString::fromLatin1(kLastContactMeta), QString::number(m_lastContact));
    }
}

void ClusterGc::tick()
{
    load();
    if (!m_bus.isClustered() || !isCoordinator())
        return;
    // A round waits for every report up to reportTimeoutMs, and never past a few intervals.
    if (m_round
        && m_round->age.elapsed() < std::min(m_options.reportTimeoutMs, 5 * m_options.intervalMs))
        return;
    if (m_round) {
        qCInfo(lcCluster).noquote()
            << "GC round" << m_round->id << "got no report from"
            << QStringList(m_round->waiting.cbegin(), m_round->waiting.cend()).join(u", ")
            << "; nothing pruned";
    }
    Round round;
    round.id = m_nextRound++;
    const QStringList peers = m_bus.replicaPeers();
    round.waiting = QSet<QString>(peers.cbegin(), peers.cend());
    round.minMillis = now();
    round.asked = int(peers.size());
    round.age.start();
    m_round = std::move(round);
    ++m_counters.roundsStarted;
    const QCborMap request = frameOf(m_round->id, kReport);
    for (const QString &peer : peers)
        send(peer, request);
    maybeCommit();
}

void ClusterGc::onMembersChanged()
{
    if (!m_round)
        return;
    const QStringList peers = m_bus.replicaPeers();
    const QSet<QString> listed(peers.cbegin(), peers.cend());
    m_round->waiting.intersect(listed);
    maybeCommit();
}

void ClusterGc::onFrame(const QString &peer, const QString &type, const QByteArray &body)
{
    if (type != kType)
        return;
    load();
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    if (!decoded.ok || !decoded.value.isMap()) {
        qCWarning(lcCluster).noquote() << "undecodable" << type << "from" << peer;
        return;
    }
    const QCborMap frame = decoded.value.toMap();
    const QString phase = frame.value(field("phase")).toString();
    if (phase == kCommit) {
        adopt(frame.value(field("horizon")).toInteger(), peer);
        return;
    }
    if (phase != kReport)
        return;
    if (frame.value(field("reply")).toBool()) {
        onReport(peer, frame);
        return;
    }
    noteContact();
    QCborMap reply = frameOf(quint64(frame.value(field("round")).toInteger()), kReport);
    reply.insert(field("reply"), true);
    reply.insert(field("minHlc"), now());
    send(peer, reply);
}

void ClusterGc::onReport(const QString &peer, const QCborMap &frame)
{
    if (!m_round || quint64(frame.value(field("round")).toInteger()) != m_round->id
        || !m_round->waiting.remove(peer))
        return;
    m_round->minMillis = std::min(m_round->minMillis, frame.value(field("minHlc")).toInteger());
    maybeCommit();
}

void ClusterGc::maybeCommit()
{
    if (!m_round || !m_round->waiting.isEmpty())
        return;
    const qint64 horizon = m_round->minMillis - m_options.ageMs;
    const quint64 id = m_round->id;
    const bool heardPeers = m_round->asked > 0;
    m_round.reset();
    ++m_counters.roundsCommitted;
    // A round this node ran alone is no contact with the cluster.
    if (heardPeers)
        noteContact();
    if (horizon <= m_horizon)
        return;
    QCborMap commit = frameOf(id, kCommit);
    commit.insert(field("horizon"), horizon);
    const QStringList peers = m_bus.replicaPeers();
    for (const QString &peer : peers)
        send(peer, commit);
    adopt(horizon, m_bus.localNodeId());
}

void ClusterGc::onLinkUp(const QString &peer)
{
    load();
    if (m_horizon <= 0)
        return;
    QCborMap commit = frameOf(0, kCommit);
    commit.insert(field("horizon"), m_horizon);
    send(peer, commit);
}

void ClusterGc::adopt(qint64 horizon, const QString &from)
{
    // Checked before the horizon: a node that pruned alone while cut off may hold a horizon as
    // new as the cluster's and still be stale.
    const bool stale = from != m_bus.localNodeId() && m_lastContact > 0 && m_lastContact < horizon;
    if (!stale && horizon <= m_horizon)
        return;
    m_horizon = std::max(m_horizon, horizon);
    if (m_storage.isOpen())
        m_storage.storeMeta(QString::fromLatin1(kHorizonMeta), QString::number(m_horizon));
    m_applier.setTombstoneHorizon(m_horizon);
    if (stale) {
        qCWarning(lcCluster).noquote()
            << QStringLiteral("last cluster contact at %1 is older than the GC horizon %2 from "
                              "%3: discarding older state and catching up")
                   .arg(m_lastContact)
                   .arg(horizon)
                   .arg(from);
        const int count = m_gc.discardOlderThan(horizon, {});
        ++m_counters.discards;
        noteContact();
        Q_EMIT replicaDiscarded(horizon, count);
        if (m_options.catchUp)
            m_options.catchUp(from);
    } else {
        m_gc.prune(horizon);
    }
    Q_EMIT horizonCommitted(horizon);
}

} // namespace wingman::cluster

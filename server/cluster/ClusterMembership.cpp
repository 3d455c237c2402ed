// ClusterModule's membership and partition-table half (docs/cluster.md §2-3); the links are in
// ClusterModule.cpp.
#include "cluster/ClusterModule.h"
#include "cluster/FailureDetector.h"
#include "cluster/PeerLink.h"

#include <QCborArray>

#include <optional>

namespace wingman::cluster {

namespace {

constexpr int kTableSettleMs = 50;

bool isGone(MemberState state)
{
    return state == MemberState::Down || state == MemberState::Left;
}

bool inTable(MemberState state)
{
    return state == MemberState::Up || state == MemberState::Suspect;
}

} // namespace

void ClusterModule::applyGossip(const QList<MemberInfo> &gossip, const QString &from)
{
    QList<MemberInfo> changed;
    bool refuted = false;
    for (const MemberInfo &info : gossip) {
        const MemberInfo *held = m_membership->find(info.nodeId);
        const std::optional<MemberInfo> before = held ? std::optional(*held) : std::nullopt;
        switch (m_membership->apply(info)) {
        case Membership::Outcome::Unchanged:
            break;
        case Membership::Outcome::Refuted:
            refuted = true;
            break;
        case Membership::Outcome::Changed: {
            const MemberInfo after = *m_membership->find(info.nodeId);
            changed.append(after);
            if (before)
                noteTransition(*before, after, QStringLiteral("reported by %1").arg(from));
            else
                noteTransition({ after.nodeId, {}, {}, MemberState::Left, 0 }, after, {});
            break;
        }
        }
    }
    if (refuted) {
        qCInfo(lcCluster).noquote() << logPrefix()
                                    << QStringLiteral("refuting doubt from %1: incarnation %2")
                                           .arg(from)
                                           .arg(m_membership->self().incarnation);
        changed.append(m_membership->self());
    }
    if (!changed.isEmpty())
        broadcastMembers(changed);
}

void ClusterModule::markMember(const QString &nodeId, MemberState state, const QString &reason)
{
    const MemberInfo *held = m_membership ? m_membership->find(nodeId) : nullptr;
    if (!held)
        return;
    const MemberInfo before = *held;
    if (!m_membership->mark(nodeId, state))
        return;
    const MemberInfo after = *m_membership->find(nodeId);
    qCInfo(lcCluster).noquote()
        << logPrefix()
        << QStringLiteral("member %1 %2: %3").arg(nodeId, memberStateName(state), reason);
    noteTransition(before, after, reason);
    broadcastMembers({ after });
}

void ClusterModule::noteTransition(
    const MemberInfo &before, const MemberInfo &after, const QString &reason)
{
    if (before.state == after.state)
        return;
    m_stateSince.insert(after.nodeId, m_clock.elapsed());
    const bool wasAlive = before.state == MemberState::Up || before.state == MemberState::Suspect;
    if (after.state == MemberState::Up && !wasAlive)
        Q_EMIT memberUp(after.nodeId);
    if (isGone(after.state) && !isGone(before.state))
        Q_EMIT memberDown(after.nodeId, reason.isEmpty() ? memberStateName(after.state) : reason);
    Q_EMIT membersChanged();
    Q_EMIT viewChanged();
    scheduleTableCheck();
}

void ClusterModule::broadcastMembers(const QList<MemberInfo> &changed)
{
    QCborArray list;
    for (const MemberInfo &info : changed)
        list.append(info.toCbor());
    const QCborMap frame { { QStringLiteral("type"), QStringLiteral("MEMBERS") },
        { QStringLiteral("full"), false }, { QStringLiteral("members"), list } };
    for (PeerLink *link : std::as_const(m_linkOf))
        link->sendMap(frame);
}

void ClusterModule::sendFullMembers(const QString &nodeId)
{
    QCborArray list;
    for (const MemberInfo &info : m_membership->all())
        list.append(info.toCbor());
    if (PeerLink *link = m_linkOf.value(nodeId)) {
        link->sendMap(QCborMap { { QStringLiteral("type"), QStringLiteral("MEMBERS") },
            { QStringLiteral("full"), true }, { QStringLiteral("members"), list } });
    }
}

void ClusterModule::checkSuspects()
{
    const qint64 now = m_clock.elapsed();
    for (const MemberInfo &info : m_membership->all()) {
        const qint64 since = m_stateSince.value(info.nodeId, now);
        if (info.state == MemberState::Suspect && now - since >= m_options.suspicionTimeoutMs) {
            markMember(info.nodeId, MemberState::Down,
                QStringLiteral("suspect for %1 ms without refutation").arg(now - since));
        } else if (isGone(info.state) && now - since >= m_options.memberForgetAfterMs) {
            qCInfo(lcCluster).noquote()
                << logPrefix() << QStringLiteral("forgetting member %1").arg(info.nodeId);
            m_membership->forget(info.nodeId);
            m_stateSince.remove(info.nodeId);
            Q_EMIT membersChanged();
            Q_EMIT viewChanged();
        }
    }
}

QStringList ClusterModule::probeTargets() const
{
    QStringList targets;
    for (const MemberInfo &info : memberInfos()) {
        if (info.nodeId != m_options.nodeId
            && (info.state == MemberState::Joining || inTable(info.state)))
            targets.append(info.nodeId);
    }
    return targets;
}

QStringList ClusterModule::relaysFor(const QString &target) const
{
    QStringList relays;
    for (const MemberInfo &info : memberInfos()) {
        if (info.nodeId != m_options.nodeId && info.nodeId != target
            && info.state == MemberState::Up && m_linkOf.contains(info.nodeId))
            relays.append(info.nodeId);
    }
    return relays;
}

void ClusterModule::onProbeFailed(const QString &nodeId)
{
    const MemberInfo *info = m_membership ? m_membership->find(nodeId) : nullptr;
    if (!info || (info->state != MemberState::Up && info->state != MemberState::Joining))
        return;
    ++m_suspicions;
    markMember(nodeId, MemberState::Suspect, QStringLiteral("no ACK, direct or indirect"));
}

void ClusterModule::endJoining()
{
    if (!m_started || !isJoining())
        return;
    m_joinTimer.stop();
    m_membership->setSelfState(MemberState::Up);
    qCInfo(lcCluster).noquote() << logPrefix()
                                << QStringLiteral("node %1 up").arg(m_options.nodeId);
    broadcastMembers({ m_membership->self() });
    Q_EMIT joinEnded();
    Q_EMIT membersChanged();
    Q_EMIT viewChanged();
    scheduleTableCheck();
}

// Briefly later, so that a refutation racing a stale "down" (a healed node's old view) lands
// before a table is published without that member.
void ClusterModule::scheduleTableCheck()
{
    if (std::exchange(m_tableCheckQueued, true))
        return;
    QTimer::singleShot(kTableSettleMs, this, &ClusterModule::checkTable);
}

// The coordinator (lowest id among up and suspect members) publishes a new version whenever that
// set differs from the table's.
void ClusterModule::checkTable()
{
    m_tableCheckQueued = false;
    if (!m_started)
        return;
    QStringList desired;
    for (const MemberInfo &info : m_membership->all()) {
        if (inTable(info.state))
            desired.append(info.nodeId);
    }
    if (desired.isEmpty() || !desired.contains(m_options.nodeId))
        return;
    std::sort(desired.begin(), desired.end());
    if (desired.constFirst() != m_options.nodeId)
        return;
    if (!m_table.isEmpty() && m_table.members() == desired)
        return;
    const qint64 version = std::max(m_highestVersion, m_table.version()) + 1;
    adoptTable(PartitionTable(version, m_options.nodeId, desired, m_options.backupCount,
        QDateTime::currentMSecsSinceEpoch()));
    const QCborMap frame = tableFrame();
    for (PeerLink *link : std::as_const(m_linkOf))
        link->sendMap(frame);
}

void ClusterModule::adoptTable(const PartitionTable &table)
{
    m_table = table;
    m_highestVersion = std::max(m_highestVersion, table.version());
    qCInfo(lcCluster).noquote() << logPrefix()
                                << QStringLiteral("partition table %1 from %2: %3")
                                       .arg(table.version())
                                       .arg(table.coordinator(), table.members().join(u','));
    Q_EMIT tableChanged(m_table);
}

void ClusterModule::handleTable(const QCborMap &frame)
{
    QStringList members;
    for (const QCborValue &value : frame.value(QStringLiteral("members")).toArray())
        members.append(value.toString());
    const auto integer = [&frame](const char *key) {
        const QCborValue value = frame.value(QLatin1StringView(key));
        return value.isDouble() ? qint64(value.toDouble()) : value.toInteger();
    };
    const PartitionTable table(integer("version"),
        frame.value(QStringLiteral("coordinator")).toString(), members, int(integer("backupCount")),
        integer("generatedAt"));
    if (table.version() <= 0 || table.isEmpty())
        return;
    m_highestVersion = std::max(m_highestVersion, table.version());
    if (m_table.isEmpty() || m_table.isSupersededBy(table))
        adoptTable(table);
    if (isJoining() && m_endJoiningOnFirstTable)
        endJoining();
    scheduleTableCheck();
}

QCborMap ClusterModule::tableFrame() const
{
    QCborArray members;
    for (const QString &member : m_table.members())
        members.append(member);
    return QCborMap { { QStringLiteral("type"), QStringLiteral("PARTITION_TABLE") },
        { QStringLiteral("version"), m_table.version() },
        { QStringLiteral("coordinator"), m_table.coordinator() },
        { QStringLiteral("backupCount"), m_table.backupCount() },
        { QStringLiteral("members"), members },
        { QStringLiteral("generatedAt"), m_table.generatedAt() } };
}

} // namespace wingman::cluster

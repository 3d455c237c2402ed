#include "cluster/Membership.h"

#include <QCborValue>

#include <algorithm>
#include <utility>

namespace wingman::cluster {

namespace {

constexpr std::pair<MemberState, const char *> kStateNames[] = {
    { MemberState::Joining, "joining" },
    { MemberState::Up, "up" },
    { MemberState::Suspect, "suspect" },
    { MemberState::Down, "down" },
    { MemberState::Leaving, "leaving" },
    { MemberState::Left, "left" },
};

int gravity(MemberState state)
{
    // Up outranks joining only because a HELLO makes a member known as joining at the
    // incarnation its MEMBERS entry then reports as up.
    switch (state) {
    case MemberState::Joining:
        return 0;
    case MemberState::Up:
        return 1;
    case MemberState::Suspect:
        return 2;
    case MemberState::Down:
    case MemberState::Leaving:
        return 3;
    case MemberState::Left:
        return 4;
    }
    return 0;
}

bool isDoubt(MemberState state)
{
    return state == MemberState::Suspect || state == MemberState::Down
        || state == MemberState::Leaving || state == MemberState::Left;
}

} // namespace

QString memberStateName(MemberState state)
{
    for (const auto &[value, name] : kStateNames) {
        if (value == state)
            return QString::fromLatin1(name);
    }
    return {};
}

std::optional<MemberState> memberStateFromName(QStringView name)
{
    for (const auto &[value, text] : kStateNames) {
        if (name == QLatin1StringView(text))
            return value;
    }
    return std::nullopt;
}

QCborMap MemberInfo::toCbor() const
{
    return QCborMap { { QStringLiteral("nodeId"), nodeId },
        { QStringLiteral("clusterAddress"), clusterAddress },
        { QStringLiteral("clientEndpoint"), clientEndpoint },
        { QStringLiteral("state"), memberStateName(state) },
        { QStringLiteral("incarnation"), incarnation } };
}

std::optional<MemberInfo> MemberInfo::fromCbor(const QCborMap &map)
{
    MemberInfo info;
    info.nodeId = map.value(QStringLiteral("nodeId")).toString();
    info.clusterAddress = map.value(QStringLiteral("clusterAddress")).toString();
    info.clientEndpoint = map.value(QStringLiteral("clientEndpoint")).toString();
    const auto state = memberStateFromName(map.value(QStringLiteral("state")).toString());
    const QCborValue incarnation = map.value(QStringLiteral("incarnation"));
    if (info.nodeId.isEmpty() || !state || !(incarnation.isInteger() || incarnation.isDouble()))
        return std::nullopt;
    info.state = *state;
    info.incarnation
        = incarnation.isInteger() ? incarnation.toInteger() : qint64(incarnation.toDouble());
    return info;
}

Membership::Membership(MemberInfo self)
    : m_selfId(self.nodeId)
{
    m_members.insert(m_selfId, std::move(self));
}

const MemberInfo *Membership::find(const QString &nodeId) const
{
    const auto it = m_members.constFind(nodeId);
    return it == m_members.cend() ? nullptr : &*it;
}

bool Membership::supersedes(const MemberInfo &incoming, const MemberInfo &held)
{
    if (incoming.incarnation != held.incarnation)
        return incoming.incarnation > held.incarnation;
    return gravity(incoming.state) > gravity(held.state);
}

Membership::Outcome Membership::apply(const MemberInfo &gossip)
{
    if (gossip.nodeId.isEmpty())
        return Outcome::Unchanged;
    if (gossip.nodeId == m_selfId) {
        MemberInfo &self = m_members[m_selfId];
        const bool leavingForReal
            = self.state == MemberState::Leaving || self.state == MemberState::Left;
        if (leavingForReal || !isDoubt(gossip.state) || gossip.incarnation < self.incarnation)
            return Outcome::Unchanged;
        self.incarnation = gossip.incarnation + 1;
        return Outcome::Refuted;
    }
    const auto it = m_members.find(gossip.nodeId);
    if (it == m_members.end()) {
        m_members.insert(gossip.nodeId, gossip);
        return Outcome::Changed;
    }
    MemberInfo merged = *it;
    if (supersedes(gossip, *it)) {
        merged.state = gossip.state;
        merged.incarnation = gossip.incarnation;
    }
    // Addresses are facts about the member, not opinions: fill in what is missing.
    if (merged.clusterAddress.isEmpty() || gossip.incarnation >= it->incarnation) {
        if (!gossip.clusterAddress.isEmpty())
            merged.clusterAddress = gossip.clusterAddress;
        if (!gossip.clientEndpoint.isEmpty())
            merged.clientEndpoint = gossip.clientEndpoint;
    }
    if (merged == *it)
        return Outcome::Unchanged;
    *it = merged;
    return Outcome::Changed;
}

bool Membership::mark(const QString &nodeId, MemberState state)
{
    if (nodeId == m_selfId)
        return false;
    const auto it = m_members.find(nodeId);
    if (it == m_members.end() || it->state == state)
        return false;
    it->state = state;
    return true;
}

void Membership::setSelfState(MemberState state)
{
    MemberInfo &self = m_members[m_selfId];
    self.state = state;
    ++self.incarnation;
}

void Membership::setSelfAddresses(const QString &clusterAddress, const QString &clientEndpoint)
{
    MemberInfo &self = m_members[m_selfId];
    self.clusterAddress = clusterAddress;
    self.clientEndpoint = clientEndpoint;
}

void Membership::forget(const QString &nodeId)
{
    if (nodeId != m_selfId)
        m_members.remove(nodeId);
}

} // namespace wingman::cluster

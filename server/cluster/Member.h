#pragma once

#include "cluster/Membership.h"

#include <QDateTime>
#include <QString>

namespace wingman::cluster {

enum class LinkState { Up, Down };
QString linkStateName(LinkState state);

// Another node as this one sees it. nodeId is empty for a configured peer that never answered.
struct Member {
    QString nodeId;
    QString address; // host:port of its cluster listener
    LinkState state = LinkState::Down; // whether an authenticated link to it is up
    QDateTime since; // when `state` last changed
    MemberState memberState = MemberState::Joining; // what the membership says (§2)
    qint64 incarnation = 0;
    double rttMs = -1; // last PING/ACK round trip; -1 when none
    quint64 probeFailures = 0; // probes it answered neither directly nor indirectly
    QString clientEndpoint;
};

} // namespace wingman::cluster

#pragma once

#include <QDateTime>
#include <QString>

namespace wingman::cluster {

enum class LinkState { Up, Down };
QString linkStateName(LinkState state);

// Another node as this one sees it. nodeId is empty for a configured peer that never answered.
struct Member {
    QString nodeId;
    QString address; // host:port of its cluster listener
    LinkState state = LinkState::Down;
    QDateTime since;
};

} // namespace wingman::cluster

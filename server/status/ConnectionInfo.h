#pragma once

#include "auth/AuthState.h"
#include "auth/Principal.h"

#include <QDateTime>

namespace wingman::status {

// What a node tells about one client connection.
struct ConnectionInfo {
    quint64 id = 0;
    QString remoteAddress;
    auth::AuthState authState = auth::AuthState::Pending;
    auth::Principal principal;
    QDateTime connectedAt;
    quint64 messagesIn = 0;
    quint64 messagesOut = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    qint64 queuedBytes = 0;
};

} // namespace wingman::status

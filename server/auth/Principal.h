#pragma once

#include <QString>
#include <QStringList>

namespace wingman::auth {

// Who a connection is, once its token has been verified.
struct Principal {
    QString userId;
    QStringList roles; // defaults to {"USER"} when the token carries none

    bool hasRole(const QString &role) const { return roles.contains(role); }
    friend bool operator==(const Principal &, const Principal &) = default;
};

} // namespace wingman::auth

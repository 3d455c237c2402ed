#pragma once

#include <QByteArray>
#include <QString>
#include <optional>

namespace wingman::test {

struct HttpReply {
    int status = 0;
    QByteArray contentType;
    QByteArray body;
};

// GET http://127.0.0.1:port/path; nullopt (with a warning) on a transport error or timeout.
std::optional<HttpReply> httpGet(quint16 port, const QString &path, int timeoutMs = 5000);

} // namespace wingman::test

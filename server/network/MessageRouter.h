#pragma once

#include <QCborMap>
#include <QHash>
#include <QString>

#include <functional>

namespace wingman::network {

class ClientConnection;

// Maps a message type to the handler of an authenticated connection's message.
class MessageRouter
{
public:
    using Handler = std::function<void(ClientConnection &, const QCborMap &)>;

    void addHandler(const QString &type, Handler handler);
    // False when no handler knows the type.
    bool route(ClientConnection &connection, const QString &type, const QCborMap &message) const;

private:
    QHash<QString, Handler> m_handlers;
};

} // namespace wingman::network

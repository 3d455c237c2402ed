#pragma once

#include "protocol/OpBatchDecoder.h"

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

    // CLIENT_OP and OP_BATCH as decoded by protocol::OpBatchDecoder, skipping the generic form.
    using OpsHandler = std::function<void(ClientConnection &, protocol::DecodedOps &&)>;

    void addHandler(const QString &type, Handler handler);
    // False when no handler knows the type.
    bool route(ClientConnection &connection, const QString &type, const QCborMap &message) const;

    void setOpsHandler(OpsHandler handler) { m_opsHandler = std::move(handler); }
    bool routesOps() const { return bool(m_opsHandler); }
    void routeOps(ClientConnection &connection, protocol::DecodedOps &&ops) const
    {
        m_opsHandler(connection, std::move(ops));
    }

private:
    QHash<QString, Handler> m_handlers;
    OpsHandler m_opsHandler;
};

} // namespace wingman::network

#include "network/MessageRouter.h"

namespace wingman::network {

void MessageRouter::addHandler(const QString &type, Handler handler)
{
    m_handlers.insert(type, std::move(handler));
}

bool MessageRouter::route(ClientConnection &connection, const QString &type,
                          const QCborMap &message) const
{
    const auto it = m_handlers.constFind(type);
    if (it == m_handlers.constEnd())
        return false;
    (*it)(connection, message);
    return true;
}

} // namespace wingman::network

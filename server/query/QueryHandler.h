#pragma once

#include <QCborMap>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::network {
class ClientConnection;
}
namespace wingman::ops {
class MapRegistry;
}

namespace wingman::query {

class QueryRegistry;

// QUERY_SUB: answers QUERY_RESP with the current matches (sorted, limited) and registers the live
// query; QUERY_UNSUB ends it.
class QueryHandler
{
public:
    QueryHandler(ops::MapRegistry &maps, const auth::SecurityPolicy &policy,
                 QueryRegistry &registry);

    void handleQuerySub(network::ClientConnection &connection, const QCborMap &message);
    void handleQueryUnsub(network::ClientConnection &connection, const QCborMap &message);

private:
    ops::MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    QueryRegistry &m_registry;
};

} // namespace wingman::query

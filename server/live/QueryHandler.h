#pragma once

namespace wingman::maps {
class MapRegistry;
}
namespace wingman::network {
class Session;
}
namespace wingman::protocol {
struct QuerySubMessage;
struct QueryUnsubMessage;
} // namespace wingman::protocol

namespace wingman::live {

class QueryRegistry;

// QUERY_SUB: answers QUERY_RESP with the current matches and registers the live query; with
// sort, limit or a cursor that is the query's window (hasMore, nextCursor, cursorStatus) and
// the live query follows it. QUERY_UNSUB ends it. The router has checked READ on the map.
class QueryHandler
{
public:
    QueryHandler(maps::MapRegistry &maps, QueryRegistry &registry);

    void handle(network::Session &session, const protocol::QuerySubMessage &sub);
    void handle(network::Session &session, const protocol::QueryUnsubMessage &unsub);

private:
    maps::MapRegistry &m_maps;
    QueryRegistry &m_registry;
};

} // namespace wingman::live

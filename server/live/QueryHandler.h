#pragma once

#include "query/Query.h"
#include "query/QueryCursor.h"

#include <QObject>
#include <QPointer>
#include <QStringList>

#include <memory>

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
class QueryWindow;

// QUERY_SUB: answers QUERY_RESP with the current matches and registers the live query; with
// sort, limit or a cursor that is the query's window (hasMore, nextCursor, cursorStatus) and
// the live query follows it. QUERY_UNSUB ends it. The router has checked READ on the map.
//
// The first evaluation reads kKeysPerTurn keys per event-loop turn, so a large map does not hold
// the loop. The query is registered, loading, before the first key is read: a change published
// meanwhile goes into its window as a key read later would, and a key read later is read as it
// is then, so the QUERY_RESP sent after the last turn is the map as it is at that moment.
class QueryHandler
{
public:
    static constexpr qsizetype kKeysPerTurn = 4096;

    QueryHandler(maps::MapRegistry &maps, QueryRegistry &registry);

    void handle(network::Session &session, const protocol::QuerySubMessage &sub);
    void handle(network::Session &session, const protocol::QueryUnsubMessage &unsub);

private:
    struct Evaluation {
        QPointer<network::Session> session;
        QString queryId;
        QString mapName;
        std::shared_ptr<QueryWindow> window;
        QStringList keys;
        qsizetype next = 0;
        bool windowed = false;
        bool followsLiveness = false;
        query::QueryCursor::Status cursorStatus = query::QueryCursor::Status::None;
    };

    // Reads the next turn's keys; the last turn answers.
    void evaluate(const std::shared_ptr<Evaluation> &evaluation);
    void respond(Evaluation &evaluation);

    maps::MapRegistry &m_maps;
    QueryRegistry &m_registry;
    // Owns the scheduled turns: none runs once the handler is gone.
    QObject m_turns;
};

} // namespace wingman::live

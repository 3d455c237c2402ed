#pragma once

#include "crdt/Value.h"
#include "protocol/MessageTypes.h"
#include "query/Query.h"

#include <QCborValue>
#include <QHash>
#include <QLoggingCategory>
#include <QSet>
#include <memory>
#include <optional>

namespace wingman::network {
class Session;
}

namespace wingman::live {

class QueryWindow;

Q_DECLARE_LOGGING_CATEGORY(lcLive)

// One change of one key, as the live feed sends it: the SERVER_EVENT payload for map listeners
// and the key's value after the change (nullopt when it no longer has one) for live queries.
struct Change {
    protocol::ServerEventPayload event;
    std::optional<crdt::Value> value; // the key's live value after the change, if any
    // Whether the key had a live value before the change, where the producer knows (LWW maps):
    // live queries that take every live value follow it instead of keeping a key set.
    std::optional<bool> wasLive;
    // The key's live value before an LWW change, or the value of the record an OR removal
    // dropped, where the producer knows it (the event journal's previousValue).
    std::optional<crdt::Value> previous;
};

// Who hears about changes to which map. A connection listens to a map once it synced it
// (SYNC_INIT, ORMAP_SYNC_INIT) or holds a live query on it; SERVER_EVENTs go to every listener
// but the writer, and each live query gets QUERY_UPDATE ENTER/UPDATE/REMOVE as keys enter,
// change in, or leave its result. A query with sort, limit or a cursor follows its window
// instead: per change REMOVE for the keys that left it, ENTER for those that joined, then
// UPDATE for a member that changed.
class QueryRegistry
{
public:
    struct Subscription {
        network::Session *connection = nullptr;
        QString queryId;
        QString mapName;
        query::Query query;
        QSet<QString> matchingKeys; // unused when followsLiveness
        // The query takes every live value of an LWW map: a key is in its result exactly while
        // it has a live value, which each Change tells (wasLive, value).
        bool followsLiveness = false;
        // Set for a query with sort, limit or a cursor, and for any query while its first
        // evaluation runs; matchingKeys is then not kept.
        std::shared_ptr<QueryWindow> window;
        // Its first evaluation runs: changes go into the window and nothing is sent.
        bool loading = false;
    };

    void addMapListener(network::Session *connection, const QString &mapName);
    // Registers a live query whose initial result set is matchingKeys. followsLiveness: see
    // Subscription; matchingKeys is then not kept.
    void subscribe(network::Session *connection, const QString &queryId, const QString &mapName,
        query::Query query, QSet<QString> matchingKeys, bool followsLiveness = false);
    // Registers a live query whose first evaluation is still running into window: changes
    // published meanwhile go into the window, unsent, until finishLoading.
    void subscribeLoading(network::Session *connection, const QString &queryId,
        const QString &mapName, query::Query query, std::shared_ptr<QueryWindow> window);
    // Whether that query is still registered with this window, loading.
    bool isLoading(
        network::Session *connection, const QString &queryId, const QueryWindow *window) const;
    // Ends the loading: from now on changes are sent. keepWindow false: the query follows its
    // window's keys as a key set (or every live value, followsLiveness) instead.
    void finishLoading(network::Session *connection, const QString &queryId,
        const QueryWindow *window, bool keepWindow, bool followsLiveness);
    bool unsubscribe(network::Session *connection, const QString &queryId);
    void removeConnection(network::Session *connection);

    // Fans changes of one map out: one SERVER_EVENT (or SERVER_BATCH_EVENT) frame, encoded once,
    // to each listener but origin; QUERY_UPDATEs to the live queries they affect.
    void publish(const QString &mapName, const QList<Change> &changes,
        const network::Session *origin, const crdt::Timestamp &now);

    int subscriptionCount() const;
    int listenerCount(const QString &mapName) const;

private:
    Subscription *find(
        network::Session *connection, const QString &queryId, const QueryWindow *window);

    QHash<QString, QSet<network::Session *>> m_mapListeners;
    QHash<QString, QList<Subscription>> m_queriesByMap;
};

} // namespace wingman::live

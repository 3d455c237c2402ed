#pragma once

#include "protocol/MessageTypes.h"
#include "query/Matcher.h"
#include "query/Query.h"

#include <QCborValue>
#include <QHash>
#include <QObject>
#include <QPointer>

namespace wingman::protocol {
struct QueryRespMessage;
struct QueryUpdateMessage;
} // namespace wingman::protocol

namespace wingman::client {

class SyncEngine;

// A live query on one map, made by SyncEngine::subscribeQuery(). results() is the server's
// answer kept current by its updates; the engine subscribes again after every reconnect. Owned
// by the engine; unsubscribe() ends it and deletes the handle later (deleting it ends it too).
class QueryHandle : public QObject
{
    Q_OBJECT
public:
    const QString &queryId() const { return m_queryId; }
    const QString &mapName() const { return m_mapName; }
    const query::Query &query() const { return m_query; }

    // The matching records, in the query's sort order (then by key).
    QList<query::Matcher::Entry> results() const;
    std::optional<QCborValue> value(const QString &key) const;
    // A QUERY_RESP has arrived on the current connection.
    bool hasResults() const { return m_hasResults; }

    void unsubscribe();

Q_SIGNALS:
    // QUERY_RESP replaced the results.
    void resultsReceived();
    // QUERY_UPDATE: key entered, changed in or left the results (value is null on REMOVE).
    void resultChanged(
        const QString &key, const QCborValue &value, wingman::protocol::QueryChange change);

private:
    friend class SyncEngine;

    QueryHandle(SyncEngine *engine, QString queryId, QString mapName, query::Query query);
    void applyResponse(const protocol::QueryRespMessage &response);
    void applyUpdate(const protocol::QueryUpdateMessage &update);
    void connectionLost() { m_hasResults = false; }

    QPointer<SyncEngine> m_engine;
    QString m_queryId;
    QString m_mapName;
    query::Query m_query;
    QHash<QString, QCborValue> m_results;
    bool m_hasResults = false;
};

} // namespace wingman::client

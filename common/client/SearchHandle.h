#pragma once

#include "protocol/SearchMessages.h"

#include <QHash>
#include <QObject>
#include <QPointer>

#include <optional>

namespace wingman::client {

class SyncEngine;

// A full-text search made by SyncEngine::search() (one answer) or SyncEngine::searchSubscribe()
// (an answer, then SEARCH_UPDATEs until unsubscribe()). As TopGun's client does, a live handle
// adds each result set to what it holds, updates only keys it holds, drops a key on LEAVE and is
// not subscribed again after a reconnect. Owned by the engine; unsubscribe() ends it and deletes
// the handle later (deleting it ends it too).
class SearchHandle : public QObject
{
    Q_OBJECT
public:
    const QString &id() const { return m_id; }
    const QString &mapName() const { return m_mapName; }
    bool isLive() const { return m_live; }

    // What it holds, score descending then key.
    QList<protocol::SearchResult> results() const;
    std::optional<protocol::SearchResult> result(const QString &key) const;
    // From the last SEARCH_RESP.
    qint64 totalCount() const { return m_totalCount; }
    const std::optional<QString> &error() const { return m_error; }
    bool hasResults() const { return m_hasResults; }

    void unsubscribe();

Q_SIGNALS:
    // SEARCH_RESP arrived (error() is set when the server refused the search).
    void resultsReceived();
    // SEARCH_UPDATE for a key: it entered, changed or left.
    void resultChanged(const QString &key, wingman::protocol::SearchChange change);

private:
    friend class SyncEngine;

    SearchHandle(SyncEngine *engine, QString id, QString mapName, bool live);
    void applyResponse(const protocol::SearchRespMessage &response);
    void applyUpdate(const protocol::SearchUpdateMessage &update);

    QPointer<SyncEngine> m_engine;
    QString m_id;
    QString m_mapName;
    bool m_live = false;
    QHash<QString, protocol::SearchResult> m_results;
    qint64 m_totalCount = 0;
    std::optional<QString> m_error;
    bool m_hasResults = false;
};

} // namespace wingman::client

#include "client/SearchHandle.h"

#include "client/SyncEngine.h"

#include <algorithm>

namespace wingman::client {

SearchHandle::SearchHandle(SyncEngine *engine, QString id, QString mapName, bool live)
    : QObject(engine)
    , m_engine(engine)
    , m_id(std::move(id))
    , m_mapName(std::move(mapName))
    , m_live(live)
{ }

QList<protocol::SearchResult> SearchHandle::results() const
{
    QList<protocol::SearchResult> results = m_results.values();
    std::sort(results.begin(), results.end(),
        [](const protocol::SearchResult &a, const protocol::SearchResult &b) {
            return a.score != b.score ? a.score > b.score : a.key < b.key;
        });
    return results;
}

std::optional<protocol::SearchResult> SearchHandle::result(const QString &key) const
{
    const auto it = m_results.constFind(key);
    if (it == m_results.cend())
        return std::nullopt;
    return *it;
}

void SearchHandle::unsubscribe()
{
    if (m_engine)
        m_engine->unsubscribe(this);
}

void SearchHandle::applyResponse(const protocol::SearchRespMessage &response)
{
    for (const protocol::SearchResult &result : response.results)
        m_results.insert(result.key, result);
    m_totalCount = response.totalCount;
    m_error = response.error;
    m_hasResults = true;
    Q_EMIT resultsReceived();
}

void SearchHandle::applyUpdate(const protocol::SearchUpdateMessage &update)
{
    switch (update.change) {
    case protocol::SearchChange::Leave:
        if (!m_results.remove(update.key))
            return;
        break;
    case protocol::SearchChange::Update:
        if (!m_results.contains(update.key))
            return;
        Q_FALLTHROUGH();
    case protocol::SearchChange::Enter:
        m_results.insert(update.key,
            protocol::SearchResult { update.key, update.value, update.score, update.matchedTerms });
        break;
    }
    Q_EMIT resultChanged(update.key, update.change);
}

} // namespace wingman::client

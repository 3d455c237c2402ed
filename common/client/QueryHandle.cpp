#include "client/QueryHandle.h"

#include "client/SyncEngine.h"
#include "protocol/QueryMessages.h"

#include <algorithm>

namespace wingman::client {

QueryHandle::QueryHandle(SyncEngine *engine, QString queryId, QString mapName, query::Query query)
    : QObject(engine)
    , m_engine(engine)
    , m_queryId(std::move(queryId))
    , m_mapName(std::move(mapName))
    , m_query(std::move(query))
{ }

QList<query::Matcher::Entry> QueryHandle::results() const
{
    QList<query::Matcher::Entry> entries;
    entries.reserve(m_results.size());
    for (auto it = m_results.cbegin(); it != m_results.cend(); ++it)
        entries.append({ it.key(), it.value() });
    std::stable_sort(entries.begin(), entries.end(),
        [this](const query::Matcher::Entry &a, const query::Matcher::Entry &b) {
            return query::Matcher::lessThan(m_query, a, b);
        });
    return entries;
}

std::optional<QCborValue> QueryHandle::value(const QString &key) const
{
    const auto it = m_results.constFind(key);
    if (it == m_results.cend())
        return std::nullopt;
    return it.value();
}

void QueryHandle::unsubscribe()
{
    if (m_engine)
        m_engine->unsubscribe(this);
}

void QueryHandle::applyResponse(const protocol::QueryRespMessage &response)
{
    m_results.clear();
    for (const protocol::QueryResult &result : response.results)
        m_results.insert(result.key, result.value.toCbor());
    m_hasResults = true;
    Q_EMIT resultsReceived();
}

void QueryHandle::applyUpdate(const protocol::QueryUpdateMessage &update)
{
    if (update.change == protocol::QueryChange::Remove)
        m_results.remove(update.key);
    else
        m_results.insert(update.key, update.value);
    Q_EMIT resultChanged(update.key, update.value, update.change);
}

} // namespace wingman::client

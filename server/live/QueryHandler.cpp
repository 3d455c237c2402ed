#include "live/QueryHandler.h"

#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "protocol/QueryMessages.h"
#include "query/Matcher.h"

namespace wingman::live {

using query::Matcher;

QueryHandler::QueryHandler(maps::MapRegistry &maps, QueryRegistry &registry)
    : m_maps(maps)
    , m_registry(registry)
{ }

void QueryHandler::handle(network::Session &session, const protocol::QuerySubMessage &sub)
{
    QString queryError;
    auto parsed = query::Query::fromCbor(sub.query, &queryError);
    if (!parsed) {
        session.sendError(
            protocol::ErrorCode::BadRequest, QStringLiteral("Invalid query: %1").arg(queryError));
        return;
    }

    QList<Matcher::Entry> matches;
    bool followsLiveness = false;
    if (const crdt::LwwMap *map = m_maps.findLww(sub.mapName)) {
        followsLiveness = Matcher::matchesEveryLiveValue(*parsed);
        const qint64 now = map->hlc().clockMillis();
        map->forEach([&](const QString &key, const crdt::LwwRecord &record) {
            if (record.isTombstone() || record.isExpired(now))
                return;
            QCborValue value = record.value.toCbor();
            if (Matcher::matches(*parsed, value))
                matches.append({ key, std::move(value) });
        });
    } else if (const crdt::OrMap *map = m_maps.findOr(sub.mapName)) {
        for (const QString &key : map->keys()) {
            const std::optional<QCborValue> values = map->liveValue(key);
            if (values && Matcher::matches(*parsed, *values))
                matches.append({ key, *values });
        }
    }

    QSet<QString> matchingKeys;
    matchingKeys.reserve(matches.size());
    for (const Matcher::Entry &entry : std::as_const(matches))
        matchingKeys.insert(entry.key);

    bool hasMore = false;
    const QList<Matcher::Entry> page = Matcher::sortAndLimit(*parsed, std::move(matches), &hasMore);
    protocol::QueryRespMessage response;
    response.queryId = sub.queryId;
    response.results.reserve(page.size());
    for (const Matcher::Entry &entry : page)
        response.results.append({ entry.key, entry.value });
    response.hasMore = hasMore;
    session.send(response);

    m_registry.subscribe(&session, sub.queryId, sub.mapName, std::move(*parsed),
        std::move(matchingKeys), followsLiveness);
}

void QueryHandler::handle(network::Session &session, const protocol::QueryUnsubMessage &unsub)
{
    m_registry.unsubscribe(&session, unsub.queryId);
}

} // namespace wingman::live

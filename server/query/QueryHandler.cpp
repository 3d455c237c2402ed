#include "query/QueryHandler.h"

#include "auth/SecurityPolicy.h"
#include "network/ClientConnection.h"
#include "ops/MapRegistry.h"
#include "protocol/QueryMessages.h"
#include "query/Matcher.h"
#include "query/QueryRegistry.h"


namespace wingman::query {

QueryHandler::QueryHandler(ops::MapRegistry &maps, const auth::SecurityPolicy &policy,
                           QueryRegistry &registry)
    : m_maps(maps)
    , m_policy(policy)
    , m_registry(registry)
{
}

void QueryHandler::handleQuerySub(network::ClientConnection &connection, const QCborMap &message)
{
    const auto sub = protocol::QuerySubMessage::fromCbor(message);
    if (!sub) {
        connection.sendError(400, QStringLiteral("Invalid message format"));
        return;
    }
    QString queryError;
    auto query = Query::fromCbor(sub->query, &queryError);
    if (!query) {
        connection.sendError(400, QStringLiteral("Invalid query: %1").arg(queryError));
        return;
    }
    if (!m_policy.isAllowed(connection.principal(), sub->mapName,
                            auth::SecurityPolicy::Action::Read)) {
        connection.sendError(403, QStringLiteral("Access denied: READ on %1").arg(sub->mapName));
        return;
    }

    QList<Matcher::Entry> matches;
    bool followsLiveness = false;
    if (const crdt::LwwMap *map = m_maps.findLww(sub->mapName)) {
        followsLiveness = Matcher::matchesEveryLiveValue(*query);
        const qint64 now = map->hlc().clockMillis();
        map->forEach([&](const QString &key, const crdt::LwwRecord &record) {
            if (record.isTombstone() || record.isExpired(now))
                return;
            QCborValue value = record.value.toCbor();
            if (Matcher::matches(*query, value))
                matches.append({key, std::move(value)});
        });
    } else if (const crdt::OrMap *map = m_maps.findOr(sub->mapName)) {
        for (const QString &key : map->keys()) {
            const std::optional<QCborValue> values = map->liveValue(key);
            if (values && Matcher::matches(*query, *values))
                matches.append({key, *values});
        }
    }

    QSet<QString> matchingKeys;
    matchingKeys.reserve(matches.size());
    for (const Matcher::Entry &entry : std::as_const(matches))
        matchingKeys.insert(entry.key);

    bool hasMore = false;
    const QList<Matcher::Entry> page = Matcher::sortAndLimit(*query, std::move(matches), &hasMore);
    protocol::QueryRespMessage response;
    response.queryId = sub->queryId;
    response.results.reserve(page.size());
    for (const Matcher::Entry &entry : page)
        response.results.append({entry.key, entry.value});
    response.hasMore = hasMore;
    connection.send(response.toCbor());

    m_registry.subscribe(&connection, sub->queryId, sub->mapName, std::move(*query),
                         std::move(matchingKeys), followsLiveness);
}

void QueryHandler::handleQueryUnsub(network::ClientConnection &connection, const QCborMap &message)
{
    const auto unsub = protocol::QueryUnsubMessage::fromCbor(message);
    if (!unsub) {
        connection.sendError(400, QStringLiteral("Invalid message format"));
        return;
    }
    m_registry.unsubscribe(&connection, unsub->queryId);
}

} // namespace wingman::query

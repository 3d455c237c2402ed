#include "live/QueryHandler.h"

#include "live/QueryRegistry.h"
#include "live/QueryWindow.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "protocol/QueryMessages.h"
#include "query/Matcher.h"
#include "query/QueryCursor.h"

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

    protocol::QueryRespMessage response;
    response.queryId = sub.queryId;
    if (parsed->sort().isEmpty() && parsed->limit() == 0 && parsed->cursor().isEmpty()) {
        QSet<QString> matchingKeys;
        matchingKeys.reserve(matches.size());
        for (const Matcher::Entry &entry : std::as_const(matches))
            matchingKeys.insert(entry.key);
        const QList<Matcher::Entry> all = Matcher::sortAndLimit(*parsed, std::move(matches));
        response.results.reserve(all.size());
        for (const Matcher::Entry &entry : all)
            response.results.append({ entry.key, entry.value });
        response.hasMore = false;
        response.cursorStatus = query::QueryCursor::statusName(query::QueryCursor::Status::None);
        session.send(response);
        m_registry.subscribe(&session, sub.queryId, sub.mapName, std::move(*parsed),
            std::move(matchingKeys), followsLiveness);
        return;
    }

    // A page keeps the start its cursor gave it; an expired or invalid one starts at the first.
    const qint64 now = m_maps.hlc().clockMillis();
    query::QueryCursor start;
    const auto status = query::QueryCursor::check(*parsed, now, &start);
    auto window = std::make_shared<QueryWindow>(
        *parsed, status == query::QueryCursor::Status::Valid ? std::optional(start) : std::nullopt);
    window->fill(std::move(matches));
    const QList<QueryWindow::Member> members = window->members();
    response.results.reserve(members.size());
    for (const QueryWindow::Member &member : members)
        response.results.append({ member.key, member.value.toCbor() });
    response.hasMore = window->hasMore();
    if (*response.hasMore)
        response.nextCursor = window->nextCursor(now).encode();
    response.cursorStatus = query::QueryCursor::statusName(status);
    session.send(response);
    m_registry.subscribe(
        &session, sub.queryId, sub.mapName, std::move(*parsed), {}, false, std::move(window));
}

void QueryHandler::handle(network::Session &session, const protocol::QueryUnsubMessage &unsub)
{
    m_registry.unsubscribe(&session, unsub.queryId);
}

} // namespace wingman::live

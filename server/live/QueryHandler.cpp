#include "live/QueryHandler.h"

#include "live/QueryRegistry.h"
#include "live/QueryWindow.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "protocol/QueryMessages.h"
#include "query/Matcher.h"
#include "query/QueryCursor.h"

#include <QTimer>

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

    auto evaluation = std::make_shared<Evaluation>();
    evaluation->session = &session;
    evaluation->queryId = sub.queryId;
    evaluation->mapName = sub.mapName;
    evaluation->windowed
        = !parsed->sort().isEmpty() || parsed->limit() > 0 || !parsed->cursor().isEmpty();
    // A page keeps the start its cursor gave it; an expired or invalid one starts at the first.
    query::QueryCursor start;
    evaluation->cursorStatus
        = query::QueryCursor::check(*parsed, m_maps.hlc().clockMillis(), &start);
    if (const crdt::LwwMap *map = m_maps.findLww(sub.mapName)) {
        evaluation->followsLiveness = Matcher::matchesEveryLiveValue(*parsed);
        evaluation->keys = map->keys();
    } else if (const crdt::OrMap *map = m_maps.findOr(sub.mapName)) {
        evaluation->keys = map->keys();
    }
    evaluation->window = std::make_shared<QueryWindow>(*parsed,
        evaluation->cursorStatus == query::QueryCursor::Status::Valid ? std::optional(start)
                                                                      : std::nullopt);
    m_registry.subscribeLoading(
        &session, sub.queryId, sub.mapName, std::move(*parsed), evaluation->window);
    evaluate(evaluation);
}

void QueryHandler::evaluate(const std::shared_ptr<Evaluation> &evaluation)
{
    Evaluation &e = *evaluation;
    // Unsubscribed, subscribed again under the same id, or disconnected meanwhile.
    if (!e.session || !m_registry.isLoading(e.session, e.queryId, e.window.get()))
        return;
    const query::Query &query = e.window->query();
    const bool everyLiveValue = Matcher::matchesEveryLiveValue(query);
    const auto take = [&](const QString &key, const crdt::Value &value) {
        // Decoded only when the query looks inside.
        const bool decode = !everyLiveValue || e.window->sorts();
        const QCborValue tree = decode ? value.toCbor() : QCborValue();
        const bool matches = everyLiveValue || Matcher::matches(query, tree);
        e.window->load(key, matches ? &value : nullptr, tree);
    };
    const qsizetype end = std::min(e.next + kKeysPerTurn, e.keys.size());
    if (const crdt::LwwMap *map = m_maps.findLww(e.mapName)) {
        const qint64 now = map->hlc().clockMillis();
        for (; e.next < end; ++e.next) {
            const QString &key = e.keys.at(e.next);
            const std::optional<crdt::LwwRecord> record = map->getRecord(key);
            if (record && !record->isTombstone() && !record->isExpired(now))
                take(key, record->value);
            else
                e.window->load(key, nullptr, {});
        }
    } else if (const crdt::OrMap *map = m_maps.findOr(e.mapName)) {
        for (; e.next < end; ++e.next) {
            const QString &key = e.keys.at(e.next);
            if (const std::optional<QCborValue> values = map->liveValue(key))
                take(key, crdt::Value(*values));
            else
                e.window->load(key, nullptr, {});
        }
    }
    if (e.next < e.keys.size()) {
        QTimer::singleShot(0, &m_turns, [this, evaluation] { evaluate(evaluation); });
        return;
    }
    respond(e);
}

void QueryHandler::respond(Evaluation &e)
{
    protocol::QueryRespMessage response;
    response.queryId = e.queryId;
    const QList<QueryWindow::Member> members = e.window->members();
    response.results.reserve(members.size());
    for (const QueryWindow::Member &member : members)
        response.results.append({ member.key, member.value });
    response.hasMore = e.window->hasMore();
    if (*response.hasMore)
        response.nextCursor = e.window->nextCursor(m_maps.hlc().clockMillis()).encode();
    response.cursorStatus = query::QueryCursor::statusName(e.cursorStatus);
    m_registry.finishLoading(e.session, e.queryId, e.window.get(), e.windowed, e.followsLiveness);
    e.session->send(response);
}

void QueryHandler::handle(network::Session &session, const protocol::QueryUnsubMessage &unsub)
{
    m_registry.unsubscribe(&session, unsub.queryId);
}

} // namespace wingman::live

#include "search/SearchService.h"

#include "auth/SecurityPolicy.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "ops/ChangeSet.h"
#include "protocol/SearchMessages.h"

#include <QElapsedTimer>
#include <QTimer>

#include <algorithm>

namespace wingman::search {

using protocol::SearchChange;

struct SearchService::Subscription {
    network::Session *connection = nullptr;
    QString id;
    QString mapName;
    SearchQuery query;
    std::optional<double> minScore;
    std::optional<qint64> limit;
    struct Member {
        double score = 0; // as last sent
        size_t valueHash = 0; // of the value last sent
    };
    QHash<QString, Member> members;
};

struct SearchService::Results {
    QList<SearchHit> hits; // what passes minScore, cut to limit
    qint64 totalCount = 0; // what passes minScore
};

namespace {

bool ranksBefore(double scoreA, const QString &keyA, double scoreB, const QString &keyB)
{
    return scoreA != scoreB ? scoreA > scoreB : keyA < keyB;
}

size_t hashOf(const QCborValue &value)
{
    return qHash(value.toCbor());
}

} // namespace

SearchService::SearchService(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
    const SearchConfig &config, QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_policy(policy)
{
    if (!m_index.isOpen() && !config.maps.isEmpty()) {
        qCCritical(lcSearch).noquote()
            << "full-text search is unavailable:" << m_index.errorString();
        return;
    }
    for (const SearchConfig::IndexedMap &map : config.maps)
        m_index.addMap(map.mapName, map.fields, map.k1, map.b);
}

SearchService::~SearchService() = default;

bool SearchService::isEnabled(const QString &mapName) const
{
    return m_index.hasMap(mapName) && m_maps.kindOf(mapName) != maps::MapRegistry::Kind::Or;
}

int SearchService::subscriptionCount() const
{
    int count = 0;
    for (const auto &list : m_subscriptions)
        count += int(list.size());
    return count;
}

void SearchService::rebuild()
{
    m_rebuilding = true;
    m_rebuildQueue.clear();
    for (const QString &mapName : m_maps.mapNames()) {
        if (m_index.hasMap(mapName) && m_maps.findLww(mapName))
            m_rebuildQueue.append({ mapName, m_maps.findLww(mapName)->keys() });
    }
    rebuildStep();
}

void SearchService::rebuildStep()
{
    QElapsedTimer slice;
    slice.start();
    const auto inSlice = [&slice] { return slice.elapsed() < kRebuildSliceMs; };
    const qint64 now = m_maps.hlc().clockMillis();
    m_index.beginBatch();
    while (inSlice() && !m_rebuildQueue.isEmpty()) {
        auto &[mapName, keys] = m_rebuildQueue.first();
        const crdt::LwwMap *map = m_maps.findLww(mapName);
        while (inSlice() && !keys.isEmpty()) {
            const QString key = keys.takeLast();
            const std::optional<crdt::LwwRecord> record = map ? map->getRecord(key) : std::nullopt;
            if (record && !record->isTombstone() && !record->isExpired(now))
                m_index.put(mapName, key, record->value.toCbor());
            else
                m_index.remove(mapName, key);
        }
        if (keys.isEmpty())
            m_rebuildQueue.removeFirst();
    }
    m_index.endBatch();
    if (!m_rebuildQueue.isEmpty()) {
        QTimer::singleShot(0, this, &SearchService::rebuildStep);
        return;
    }
    m_rebuilding = false;
    qint64 documents = 0;
    for (const QString &mapName : m_maps.mapNames())
        documents += m_index.documentCount(mapName);
    qCInfo(lcSearch) << "full-text index built:" << documents << "documents";
    const auto waiting = std::exchange(m_waiting, {});
    for (const auto &[session, work] : waiting) {
        if (session)
            work(*session);
    }
    Q_EMIT rebuilt(documents);
}

void SearchService::apply(const ops::ChangeSet &changes)
{
    const auto &byMap = changes.changesByMap();
    for (auto it = byMap.cbegin(); it != byMap.cend(); ++it) {
        if (!isEnabled(it.key()))
            continue;
        const qint64 now = m_maps.hlc().clockMillis();
        m_index.beginBatch();
        for (const live::Change &change : it.value()) {
            const auto &record = change.event.record;
            const bool live
                = change.value && !change.value->isNullish() && !(record && record->isExpired(now));
            const QCborValue value = live ? change.value->toCbor() : QCborValue();
            indexChange(it.key(), change.event.key, live ? &value : nullptr);
        }
        m_index.endBatch();
    }
}

void SearchService::indexChange(const QString &mapName, const QString &key, const QCborValue *value)
{
    if (value)
        m_index.put(mapName, key, *value);
    else
        m_index.remove(mapName, key);
    const auto subscriptions = m_subscriptions.value(mapName);
    for (const std::shared_ptr<Subscription> &subscription : subscriptions)
        rescore(*subscription, key, value);
}

void SearchService::rescore(Subscription &s, const QString &key, const QCborValue *value)
{
    std::optional<SearchHit> hit
        = value ? m_index.score(s.mapName, s.query, key) : std::optional<SearchHit>();
    if (hit && (hit->score <= 0 || (s.minScore && hit->score < *s.minScore)))
        hit.reset();
    const auto send = [&s](const QString &k, const QCborValue &v, double score,
                          const QStringList &terms, SearchChange change) {
        protocol::SearchUpdateMessage update;
        update.subscriptionId = s.id;
        update.key = k;
        update.value = v;
        update.score = score;
        update.matchedTerms = terms;
        update.change = change;
        s.connection->send(update);
    };
    const bool member = s.members.contains(key);
    if (!hit) {
        if (!member)
            return;
        const bool wasFull = s.limit && s.members.size() >= *s.limit;
        s.members.remove(key);
        send(key, QCborValue(nullptr), 0, {}, SearchChange::Leave);
        if (wasFull)
            refill(s);
        return;
    }
    const size_t valueHash = hashOf(*value);
    if (member) {
        Subscription::Member &sent = s.members[key];
        if (sent.score == hit->score && sent.valueHash == valueHash)
            return;
        sent = { hit->score, valueHash };
        send(key, *value, hit->score, hit->matchedTerms, SearchChange::Update);
        return;
    }
    if (s.limit && s.members.size() >= *s.limit) {
        if (s.members.isEmpty())
            return;
        auto worst = s.members.cbegin();
        for (auto it = s.members.cbegin(); it != s.members.cend(); ++it) {
            if (ranksBefore(worst->score, worst.key(), it->score, it.key()))
                worst = it;
        }
        if (!ranksBefore(hit->score, key, worst->score, worst.key()))
            return;
        const QString pushedOut = worst.key();
        s.members.remove(pushedOut);
        send(pushedOut, QCborValue(nullptr), 0, {}, SearchChange::Leave);
    }
    s.members.insert(key, { hit->score, valueHash });
    send(key, *value, hit->score, hit->matchedTerms, SearchChange::Enter);
}

// After a LEAVE from a full window: the best record outside it joins.
void SearchService::refill(Subscription &s)
{
    for (const SearchHit &hit : m_index.search(s.mapName, s.query)) {
        if (s.minScore && hit.score < *s.minScore)
            return;
        if (s.members.contains(hit.key))
            continue;
        protocol::SearchUpdateMessage update;
        update.subscriptionId = s.id;
        update.key = hit.key;
        update.value = currentValue(s.mapName, hit.key);
        s.members.insert(hit.key, { hit.score, hashOf(update.value) });
        update.score = hit.score;
        update.matchedTerms = hit.matchedTerms;
        update.change = SearchChange::Enter;
        s.connection->send(update);
        return;
    }
}

QCborValue SearchService::currentValue(const QString &mapName, const QString &key) const
{
    const crdt::LwwMap *map = m_maps.findLww(mapName);
    const std::optional<QCborValue> value = map ? map->get(key) : std::nullopt;
    return value.value_or(QCborValue(nullptr));
}

SearchService::Results SearchService::run(const QString &mapName, const QString &text,
    const std::optional<protocol::SearchOptions> &options) const
{
    const SearchQuery query = m_index.prepare(
        text, options && options->boost ? *options->boost : QMap<QString, double>());
    Results results;
    results.hits = m_index.search(mapName, query);
    if (options && options->minScore) {
        const double minScore = *options->minScore;
        results.hits.removeIf([minScore](const SearchHit &hit) { return hit.score < minScore; });
    }
    results.totalCount = results.hits.size();
    if (options && options->limit && *options->limit < results.hits.size())
        results.hits.resize(*options->limit);
    return results;
}

bool SearchService::admit(
    network::Session &session, const QString &requestId, const QString &mapName)
{
    QString error;
    if (!m_policy.isAllowed(session.principal(), mapName, auth::SecurityPolicy::Action::Read))
        error = QStringLiteral("Access denied for map: %1").arg(mapName);
    else if (!isEnabled(mapName))
        error = QStringLiteral("Full-text search not enabled for map: %1").arg(mapName);
    if (error.isEmpty())
        return true;
    protocol::SearchRespMessage response;
    response.requestId = requestId;
    response.error = error;
    session.send(response);
    return false;
}

void SearchService::whenReady(
    network::Session &session, std::function<void(network::Session &)> work)
{
    if (m_rebuilding)
        m_waiting.append({ QPointer<network::Session>(&session), std::move(work) });
    else
        work(session);
}

void SearchService::handle(network::Session &session, const protocol::SearchMessage &search)
{
    if (!admit(session, search.requestId, search.mapName))
        return;
    whenReady(session, [this, search](network::Session &s) {
        const Results results = run(search.mapName, search.query, search.options);
        protocol::SearchRespMessage response;
        response.requestId = search.requestId;
        response.totalCount = results.totalCount;
        for (const SearchHit &hit : results.hits) {
            response.results.append(
                { hit.key, currentValue(search.mapName, hit.key), hit.score, hit.matchedTerms });
        }
        s.send(response);
    });
}

void SearchService::handle(network::Session &session, const protocol::SearchSubMessage &sub)
{
    if (!admit(session, sub.subscriptionId, sub.mapName))
        return;
    whenReady(session, [this, sub](network::Session &s) {
        removeSubscription(&s, sub.subscriptionId);
        const Results results = run(sub.mapName, sub.query, sub.options);
        auto subscription = std::make_shared<Subscription>();
        subscription->connection = &s;
        subscription->id = sub.subscriptionId;
        subscription->mapName = sub.mapName;
        subscription->query = m_index.prepare(sub.query,
            sub.options && sub.options->boost ? *sub.options->boost : QMap<QString, double>());
        if (sub.options) {
            subscription->minScore = sub.options->minScore;
            subscription->limit = sub.options->limit;
        }
        protocol::SearchRespMessage response;
        response.requestId = sub.subscriptionId;
        response.totalCount = results.totalCount;
        for (const SearchHit &hit : results.hits) {
            const QCborValue value = currentValue(sub.mapName, hit.key);
            subscription->members.insert(hit.key, { hit.score, hashOf(value) });
            response.results.append({ hit.key, value, hit.score, hit.matchedTerms });
        }
        s.send(response);
        m_subscriptions[sub.mapName].append(std::move(subscription));
    });
}

void SearchService::handle(network::Session &session, const protocol::SearchUnsubMessage &unsub)
{
    removeSubscription(&session, unsub.subscriptionId);
}

void SearchService::removeSubscription(network::Session *connection, const QString &id)
{
    for (auto it = m_subscriptions.begin(); it != m_subscriptions.end();) {
        it->removeIf([&](const std::shared_ptr<Subscription> &s) {
            return s->connection == connection && s->id == id;
        });
        it = it->isEmpty() ? m_subscriptions.erase(it) : std::next(it);
    }
}

void SearchService::removeConnection(network::Session *connection)
{
    for (auto it = m_subscriptions.begin(); it != m_subscriptions.end();) {
        it->removeIf(
            [&](const std::shared_ptr<Subscription> &s) { return s->connection == connection; });
        it = it->isEmpty() ? m_subscriptions.erase(it) : std::next(it);
    }
    m_waiting.removeIf([connection](const auto &entry) { return entry.first == connection; });
}

} // namespace wingman::search

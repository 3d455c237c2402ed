#include "live/QueryRegistry.h"

#include "live/QueryWindow.h"
#include "network/Session.h"
#include "protocol/QueryMessages.h"
#include "protocol/WriteMessages.h"
#include "query/Matcher.h"
#include "wire/MsgPackWriter.h"

namespace wingman::live {

Q_LOGGING_CATEGORY(lcLive, "wingman.live")

void QueryRegistry::addMapListener(network::Session *connection, const QString &mapName)
{
    m_mapListeners[mapName].insert(connection);
}

void QueryRegistry::subscribe(network::Session *connection, const QString &queryId,
    const QString &mapName, query::Query query, QSet<QString> matchingKeys, bool followsLiveness)
{
    unsubscribe(connection, queryId);
    if (followsLiveness)
        matchingKeys = {};
    m_queriesByMap[mapName].append({ connection, queryId, mapName, std::move(query),
        std::move(matchingKeys), followsLiveness, {} });
}

void QueryRegistry::subscribeLoading(network::Session *connection, const QString &queryId,
    const QString &mapName, query::Query query, std::shared_ptr<QueryWindow> window)
{
    unsubscribe(connection, queryId);
    Subscription subscription { connection, queryId, mapName, std::move(query), {}, false,
        std::move(window) };
    subscription.loading = true;
    m_queriesByMap[mapName].append(std::move(subscription));
}

QueryRegistry::Subscription *QueryRegistry::find(
    network::Session *connection, const QString &queryId, const QueryWindow *window)
{
    for (auto &subscriptions : m_queriesByMap) {
        for (Subscription &s : subscriptions) {
            if (s.connection == connection && s.queryId == queryId)
                return s.window.get() == window ? &s : nullptr;
        }
    }
    return nullptr;
}

bool QueryRegistry::isLoading(
    network::Session *connection, const QString &queryId, const QueryWindow *window) const
{
    for (const auto &subscriptions : m_queriesByMap) {
        for (const Subscription &s : subscriptions) {
            if (s.connection == connection && s.queryId == queryId)
                return s.loading && s.window.get() == window;
        }
    }
    return false;
}

void QueryRegistry::finishLoading(network::Session *connection, const QString &queryId,
    const QueryWindow *window, bool keepWindow, bool followsLiveness)
{
    Subscription *s = find(connection, queryId, window);
    if (!s)
        return;
    s->loading = false;
    if (keepWindow)
        return;
    s->followsLiveness = followsLiveness;
    if (!followsLiveness)
        s->matchingKeys = window->keys();
    s->window.reset();
}

bool QueryRegistry::unsubscribe(network::Session *connection, const QString &queryId)
{
    for (auto it = m_queriesByMap.begin(); it != m_queriesByMap.end(); ++it) {
        const auto removed = it->removeIf([&](const Subscription &s) {
            return s.connection == connection && s.queryId == queryId;
        });
        if (removed > 0)
            return true;
    }
    return false;
}

void QueryRegistry::removeConnection(network::Session *connection)
{
    for (auto &listeners : m_mapListeners)
        listeners.remove(connection);
    for (auto &subscriptions : m_queriesByMap)
        subscriptions.removeIf(
            [connection](const Subscription &s) { return s.connection == connection; });
}

int QueryRegistry::subscriptionCount() const
{
    int count = 0;
    for (const auto &subscriptions : m_queriesByMap)
        count += int(subscriptions.size());
    return count;
}

int QueryRegistry::listenerCount(const QString &mapName) const
{
    return int(m_mapListeners.value(mapName).size());
}

void QueryRegistry::publish(const QString &mapName, const QList<Change> &changes,
    const network::Session *origin, const crdt::Timestamp &now)
{
    if (changes.isEmpty())
        return;
    auto queries = m_queriesByMap.find(mapName);
    const bool hasQueries = queries != m_queriesByMap.end() && !queries->isEmpty();

    QSet<network::Session *> recipients = m_mapListeners.value(mapName);
    if (hasQueries) {
        for (const Subscription &s : std::as_const(*queries))
            recipients.insert(s.connection);
    }
    recipients.remove(const_cast<network::Session *>(origin));

    if (!recipients.isEmpty()) {
        QByteArray encoded;
        if (changes.size() == 1) {
            protocol::ServerEventMessage event;
            event.event = changes.constFirst().event;
            event.envelopeTimestamp = now;
            encoded = event.encode();
        } else {
            protocol::ServerBatchEventMessage batch;
            batch.events.reserve(changes.size());
            for (const Change &change : changes)
                batch.events.append(change.event);
            batch.envelopeTimestamp = now;
            encoded = batch.encode();
        }
        for (network::Session *connection : std::as_const(recipients))
            connection->sendEncoded(encoded);
    }

    if (!hasQueries)
        return;
    static const QByteArray kNil(1, char(0xc0));
    for (const Change &change : changes) {
        const QString &key = change.event.key;
        QByteArray encodedValue; // once per change, whatever the number of live queries
        const auto encode = [](const crdt::Value &value) {
            QByteArray bytes;
            wire::MsgPackWriter writer(bytes);
            value.writeTo(writer);
            return bytes;
        };
        // Decoded once per change, and only if a live query looks inside the value.
        std::optional<QCborValue> tree;
        const auto treeOf = [&]() -> const QCborValue & {
            if (!tree)
                tree = change.value ? change.value->toCbor() : QCborValue();
            return *tree;
        };
        const auto send = [&](const Subscription &s, const QString &updateKey,
                              protocol::QueryChange kind, QByteArrayView value) {
            protocol::QueryUpdateMessage update;
            update.queryId = s.queryId;
            update.key = updateKey;
            update.change = kind;
            s.connection->sendEncoded(update.encode(value));
        };
        const auto valueBytes = [&]() -> const QByteArray & {
            if (encodedValue.isEmpty())
                encodedValue = encode(*change.value);
            return encodedValue;
        };
        for (Subscription &s : *queries) {
            const bool matches = change.value && !change.value->isNullish()
                && (query::Matcher::matchesEveryLiveValue(s.query)
                    || query::Matcher::matches(s.query, treeOf()));
            if (s.loading) {
                s.window->load(key, matches ? &*change.value : nullptr,
                    matches && s.window->sorts() ? treeOf() : QCborValue());
                continue;
            }
            if (s.window) {
                const QueryWindow::Delta delta
                    = s.window->apply(key, matches ? &*change.value : nullptr,
                        matches && s.window->sorts() ? treeOf() : QCborValue());
                for (const QString &left : delta.left)
                    send(s, left, protocol::QueryChange::Remove, kNil);
                for (const QueryWindow::Member &member : delta.entered) {
                    const QByteArray bytes
                        = member.key == key ? valueBytes() : encode(member.value);
                    send(s, member.key, protocol::QueryChange::Enter, bytes);
                }
                if (delta.updated)
                    send(s, key, protocol::QueryChange::Update, valueBytes());
                continue;
            }
            // Without wasLive, ENTER for a match and REMOVE otherwise say the same to a client.
            const bool wasIn = s.followsLiveness ? change.wasLive.value_or(!matches)
                                                 : s.matchingKeys.contains(key);
            if (!matches && !wasIn)
                continue;
            if (matches) {
                if (!s.followsLiveness)
                    s.matchingKeys.insert(key);
                send(s, key, wasIn ? protocol::QueryChange::Update : protocol::QueryChange::Enter,
                    valueBytes());
            } else {
                if (!s.followsLiveness)
                    s.matchingKeys.remove(key);
                send(s, key, protocol::QueryChange::Remove, kNil);
            }
        }
    }
}

} // namespace wingman::live

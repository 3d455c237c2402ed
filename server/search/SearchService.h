#pragma once

#include "search/SearchConfig.h"
#include "search/SearchIndex.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::maps {
class MapRegistry;
}
namespace wingman::network {
class Session;
}
namespace wingman::ops {
class ChangeSet;
}
namespace wingman::protocol {
struct SearchMessage;
struct SearchOptions;
struct SearchRespMessage;
struct SearchSubMessage;
struct SearchUnsubMessage;
} // namespace wingman::protocol

namespace wingman::search {

// Full-text search on one node (docs/protocol.md "Full-text search"). Keeps the SearchIndex in
// step with the maps: rebuilt from what they hold at startup, in slices of kRebuildSliceMs per
// event-loop turn, then fed every committed change (client writes, peers' replication, GC),
// which the Committer hands to apply(). Answers SEARCH, and holds SEARCH_SUB subscriptions, each
// the set of keys it was sent, telling its connection ENTER, UPDATE and LEAVE as records change.
// Requests that come while the index is being built are answered once it is.
class SearchService : public QObject
{
    Q_OBJECT
public:
    // How long one event-loop turn of a rebuild may index records.
    static constexpr int kRebuildSliceMs = 10;

    SearchService(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
        const SearchConfig &config, QObject *parent = nullptr);
    ~SearchService() override;

    // Indexes every live record of the configured maps; rebuilt() once done.
    void rebuild();
    bool isRebuilding() const { return m_rebuilding; }
    void apply(const ops::ChangeSet &changes);

    void handle(network::Session &session, const protocol::SearchMessage &search);
    void handle(network::Session &session, const protocol::SearchSubMessage &sub);
    void handle(network::Session &session, const protocol::SearchUnsubMessage &unsub);
    void removeConnection(network::Session *connection);
    void removeSubscription(network::Session *connection, const QString &subscriptionId);

    bool isEnabled(const QString &mapName) const;
    int subscriptionCount() const;
    const SearchIndex &index() const { return m_index; }

Q_SIGNALS:
    void rebuilt(qint64 documents);

private:
    struct Subscription;
    struct Results;

    // Whether the session may search mapName; if not, the failed SEARCH_RESP has been sent.
    bool admit(network::Session &session, const QString &requestId, const QString &mapName);
    // Runs now, or after the rebuild when one is going on.
    void whenReady(network::Session &session, std::function<void(network::Session &)> work);
    Results run(const QString &mapName, const QString &text,
        const std::optional<protocol::SearchOptions> &options) const;
    void rebuildStep();
    void indexChange(const QString &mapName, const QString &key, const QCborValue *value);
    void rescore(Subscription &subscription, const QString &key, const QCborValue *value);
    void refill(Subscription &subscription);
    QCborValue currentValue(const QString &mapName, const QString &key) const;

    maps::MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    SearchIndex m_index;
    bool m_rebuilding = true;
    QList<std::pair<QString, QStringList>> m_rebuildQueue; // map, keys still to index
    QList<std::pair<QPointer<network::Session>, std::function<void(network::Session &)>>> m_waiting;
    QHash<QString, QList<std::shared_ptr<Subscription>>> m_subscriptions; // by map
};

} // namespace wingman::search

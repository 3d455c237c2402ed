#pragma once

#include "protocol/PrimitiveMessages.h"

#include <QCborValue>
#include <QHash>
#include <QList>
#include <QSet>
#include <QString>

#include <functional>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::network {
class Session;
}

namespace wingman::primitives {

// Pub/sub topics (docs/protocol.md "Topics"): who listens to what on this node, and delivery of
// a publication to each of them but its publisher. Nothing is stored. Subscriptions end with
// their connection; a subscriber that does not read is cut off by its connection's outbound
// budget like any other.
class TopicService
{
public:
    static constexpr qsizetype kMaxTopicsPerConnection = 100;
    static constexpr qsizetype kMaxNameLength = 256;

    // A publication made on this node, for the other members (docs/cluster.md §7).
    using Relay = std::function<void(
        const QString &topic, const QCborValue &data, const QString &publisherId)>;

    explicit TopicService(const auth::SecurityPolicy &policy);

    void setRelay(Relay relay) { m_relay = std::move(relay); }

    void handle(network::Session &session, const protocol::TopicSubMessage &message);
    void handle(network::Session &session, const protocol::TopicUnsubMessage &message);
    void handle(network::Session &session, const protocol::TopicPubMessage &message);

    // TOPIC_MESSAGE to every local subscriber of topic except `publisher` (null: all of them).
    void deliver(const QString &topic, const QCborValue &data, const QString &publisherId,
        const network::Session *publisher = nullptr);
    void removeConnection(network::Session *session);

    // 1-256 characters of [A-Za-z0-9_-.:/].
    static bool isValidName(const QString &topic);
    qsizetype subscriberCount(const QString &topic) const;

private:
    // False, with the documented ERROR sent, when topic is not a name or the action is denied.
    bool admit(network::Session &session, const QString &topic, bool publish) const;

    const auth::SecurityPolicy &m_policy;
    Relay m_relay;
    QHash<QString, QList<network::Session *>> m_subscribers; // in subscription order
    QHash<network::Session *, QSet<QString>> m_topicsOf;
};

} // namespace wingman::primitives

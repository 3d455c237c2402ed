#include "primitives/TopicService.h"

#include "auth/SecurityPolicy.h"
#include "network/Session.h"

#include <QDateTime>

namespace wingman::primitives {

using auth::SecurityPolicy;
using protocol::ErrorCode;

TopicService::TopicService(const SecurityPolicy &policy)
    : m_policy(policy)
{ }

bool TopicService::isValidName(const QString &topic)
{
    if (topic.isEmpty() || topic.size() > kMaxNameLength)
        return false;
    for (const QChar c : topic) {
        const char16_t u = c.unicode();
        const bool ok = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9')
            || u == '_' || u == '-' || u == '.' || u == ':' || u == '/';
        if (!ok)
            return false;
    }
    return true;
}

bool TopicService::admit(network::Session &session, const QString &topic, bool publish) const
{
    if (!isValidName(topic)) {
        session.sendError(ErrorCode::BadRequest, QStringLiteral("Invalid topic name"));
        return false;
    }
    const SecurityPolicy::Action action
        = publish ? SecurityPolicy::Action::Put : SecurityPolicy::Action::Read;
    if (!m_policy.isAllowed(session.principal(), QStringLiteral("topic:") + topic, action)) {
        session.sendError(
            ErrorCode::Forbidden, QStringLiteral("Access Denied for topic %1").arg(topic));
        return false;
    }
    return true;
}

void TopicService::handle(network::Session &session, const protocol::TopicSubMessage &message)
{
    if (!admit(session, message.topic, false))
        return;
    QSet<QString> &topics = m_topicsOf[&session];
    if (topics.contains(message.topic))
        return;
    if (topics.size() >= kMaxTopicsPerConnection) {
        session.sendError(ErrorCode::BadRequest, QStringLiteral("Subscription limit reached"));
        return;
    }
    topics.insert(message.topic);
    m_subscribers[message.topic].append(&session);
}

void TopicService::handle(network::Session &session, const protocol::TopicUnsubMessage &message)
{
    if (!isValidName(message.topic)) {
        session.sendError(ErrorCode::BadRequest, QStringLiteral("Invalid topic name"));
        return;
    }
    auto topics = m_topicsOf.find(&session);
    if (topics == m_topicsOf.end() || !topics->remove(message.topic))
        return;
    if (topics->isEmpty())
        m_topicsOf.erase(topics);
    auto subscribers = m_subscribers.find(message.topic);
    subscribers->removeOne(&session);
    if (subscribers->isEmpty())
        m_subscribers.erase(subscribers);
}

void TopicService::handle(network::Session &session, const protocol::TopicPubMessage &message)
{
    if (!admit(session, message.topic, true))
        return;
    const QString publisherId = QString::number(session.id());
    deliver(message.topic, message.data, publisherId, &session);
    if (m_relay)
        m_relay(message.topic, message.data, publisherId);
}

void TopicService::deliver(const QString &topic, const QCborValue &data, const QString &publisherId,
    const network::Session *publisher)
{
    const auto subscribers = m_subscribers.constFind(topic);
    if (subscribers == m_subscribers.cend())
        return;
    protocol::TopicMessage delivery;
    delivery.topic = topic;
    delivery.data = data;
    delivery.publisherId = publisherId;
    delivery.timestamp = QDateTime::currentMSecsSinceEpoch();
    const QByteArray encoded = network::Session::encode(delivery);
    for (network::Session *subscriber : *subscribers) {
        if (subscriber != publisher)
            subscriber->sendEncoded(encoded);
    }
}

void TopicService::removeConnection(network::Session *session)
{
    const auto topics = m_topicsOf.constFind(session);
    if (topics == m_topicsOf.cend())
        return;
    for (const QString &topic : *topics) {
        auto subscribers = m_subscribers.find(topic);
        subscribers->removeOne(session);
        if (subscribers->isEmpty())
            m_subscribers.erase(subscribers);
    }
    m_topicsOf.erase(topics);
}

qsizetype TopicService::subscriberCount(const QString &topic) const
{
    return m_subscribers.value(topic).size();
}

} // namespace wingman::primitives

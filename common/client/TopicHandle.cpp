#include "client/TopicHandle.h"

#include "client/SyncEngine.h"
#include "protocol/PrimitiveMessages.h"

namespace wingman::client {

TopicHandle::TopicHandle(SyncEngine *engine, QString name)
    : QObject(engine)
    , m_engine(engine)
    , m_name(std::move(name))
{ }

void TopicHandle::subscribe()
{
    if (m_subscribed)
        return;
    m_subscribed = true;
    if (m_engine && m_engine->isAuthenticated())
        m_engine->send(protocol::TopicSubMessage { m_name }.toCbor());
}

void TopicHandle::unsubscribe()
{
    if (!m_subscribed)
        return;
    m_subscribed = false;
    if (m_engine && m_engine->isAuthenticated())
        m_engine->send(protocol::TopicUnsubMessage { m_name }.toCbor());
}

void TopicHandle::publish(const QCborValue &data)
{
    if (m_engine && m_engine->isAuthenticated()) {
        m_engine->send(protocol::TopicPubMessage { m_name, data }.toCbor());
        return;
    }
    if (m_queued.size() >= kMaxQueued)
        m_queued.removeFirst();
    m_queued.append(data);
}

void TopicHandle::resume()
{
    if (!m_engine)
        return;
    if (m_subscribed)
        m_engine->send(protocol::TopicSubMessage { m_name }.toCbor());
    const QList<QCborValue> queued = std::exchange(m_queued, {});
    for (const QCborValue &data : queued)
        m_engine->send(protocol::TopicPubMessage { m_name, data }.toCbor());
}

void TopicHandle::deliver(const protocol::TopicMessage &message)
{
    if (m_subscribed)
        Q_EMIT messageReceived(
            message.data, message.publisherId.value_or(QString()), message.timestamp);
}

} // namespace wingman::client

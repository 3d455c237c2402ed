#include "client/ReplyDecoder.h"
#include "client/SyncEngine.h"

#include "client/ClientLogging.h"
#include "protocol/PrimitiveMessages.h"

namespace wingman::client {

using protocol::MessageType;

TopicHandle *SyncEngine::topic(const QString &name)
{
    TopicHandle *&handle = m_topics[name];
    if (!handle)
        handle = new TopicHandle(this, name);
    return handle;
}

LockHandle *SyncEngine::lock(const QString &name)
{
    LockHandle *&handle = m_locks[name];
    if (!handle)
        handle = new LockHandle(this, name);
    return handle;
}

CounterHandle *SyncEngine::counter(const QString &name)
{
    CounterHandle *&handle = m_counters[name];
    if (!handle) {
        handle = new CounterHandle(this, name);
        if (isAuthenticated())
            send(protocol::CounterRequestMessage { name }.toCbor());
    }
    return handle;
}

void SyncEngine::resumePrimitives()
{
    for (TopicHandle *handle : std::as_const(m_topics))
        handle->resume();
}

void SyncEngine::primitivesDisconnected()
{
    for (LockHandle *handle : std::as_const(m_locks))
        handle->connectionLost();
}

void SyncEngine::handlePrimitiveMessage(MessageType type, const QCborMap &message)
{
    switch (type) {
    case MessageType::TopicMessage:
        if (const auto delivery = decodeAs<protocol::TopicMessage>(message)) {
            if (TopicHandle *handle = m_topics.value(delivery->topic))
                handle->deliver(*delivery);
        }
        break;
    case MessageType::LockGranted:
        if (const auto granted = decodeAs<protocol::LockGrantedMessage>(message)) {
            if (LockHandle *handle = m_locks.value(granted->name))
                handle->onGranted(*granted);
        }
        break;
    case MessageType::LockReleased:
        if (const auto released = decodeAs<protocol::LockReleasedMessage>(message)) {
            if (LockHandle *handle = m_locks.value(released->name))
                handle->onReleased(*released);
        }
        break;
    case MessageType::CounterResponse:
        if (const auto response = decodeAs<protocol::CounterResponseMessage>(message)) {
            if (CounterHandle *handle = m_counters.value(response->name))
                handle->merge(response->state);
        }
        break;
    case MessageType::CounterUpdate:
        if (const auto update = decodeAs<protocol::CounterUpdateMessage>(message)) {
            if (CounterHandle *handle = m_counters.value(update->name))
                handle->merge(update->state);
        }
        break;
    default:
        break;
    }
}

} // namespace wingman::client

#include "client/ReplyDecoder.h"
#include "client/SyncEngine.h"

#include "client/ClientLogging.h"
#include "protocol/Messages.h"

#include <QUuid>

namespace wingman::client {

using namespace Qt::StringLiterals;
using protocol::MessageType;

namespace {

const QString kNotConnected = u"Not connected to server"_s;

QString newRequestId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

// Answers a resolver request the engine cannot send, once the caller has its id.
void refuseOffline(SyncEngine *engine, const QString &requestId)
{
    QMetaObject::invokeMethod(
        engine,
        [engine, requestId] { Q_EMIT engine->resolverReply(requestId, false, kNotConnected); },
        Qt::QueuedConnection);
}

} // namespace

QString SyncEngine::executeOnKey(
    const QString &mapName, const QString &key, const QCborMap &processor)
{
    const QString requestId = newRequestId();
    if (!isAuthenticated()) {
        protocol::EntryProcessResult refused;
        refused.error = kNotConnected;
        QMetaObject::invokeMethod(
            this, [this, requestId, refused] { Q_EMIT entryProcessed(requestId, refused); },
            Qt::QueuedConnection);
        return requestId;
    }
    m_processorRequests.insert(requestId, { mapName, key });
    protocol::EntryProcessMessage message;
    message.requestId = requestId;
    message.mapName = mapName;
    message.key = key;
    message.processor = processor;
    send(message.toCbor());
    return requestId;
}

QString SyncEngine::executeOnKeys(
    const QString &mapName, const QStringList &keys, const QCborMap &processor)
{
    const QString requestId = newRequestId();
    if (!isAuthenticated()) {
        QCborMap results;
        for (const QString &key : keys) {
            protocol::EntryProcessResult refused;
            refused.error = kNotConnected;
            results.insert(key, refused.toCbor());
        }
        QMetaObject::invokeMethod(
            this, [this, requestId, results] { Q_EMIT entriesProcessed(requestId, results); },
            Qt::QueuedConnection);
        return requestId;
    }
    protocol::EntryProcessBatchMessage message;
    message.requestId = requestId;
    message.mapName = mapName;
    message.keys = keys;
    message.processor = processor;
    m_processorRequests.insert(requestId, { mapName, QString() });
    send(message.toCbor());
    return requestId;
}

QString SyncEngine::registerResolver(const QString &mapName, const QCborMap &resolver)
{
    const QString requestId = newRequestId();
    if (!isAuthenticated()) {
        refuseOffline(this, requestId);
        return requestId;
    }
    protocol::RegisterResolverMessage message;
    message.requestId = requestId;
    message.mapName = mapName;
    message.resolver = resolver;
    send(message.toCbor());
    return requestId;
}

QString SyncEngine::unregisterResolver(const QString &mapName, const QString &name)
{
    const QString requestId = newRequestId();
    if (!isAuthenticated()) {
        refuseOffline(this, requestId);
        return requestId;
    }
    protocol::UnregisterResolverMessage message;
    message.requestId = requestId;
    message.mapName = mapName;
    message.resolverName = name;
    send(message.toCbor());
    return requestId;
}

QString SyncEngine::listResolvers(const std::optional<QString> &mapName)
{
    const QString requestId = newRequestId();
    if (!isAuthenticated()) {
        QMetaObject::invokeMethod(
            this, [this, requestId] { Q_EMIT resolversListed(requestId, {}); },
            Qt::QueuedConnection);
        return requestId;
    }
    protocol::ListResolversMessage message;
    message.requestId = requestId;
    message.onlyMap = mapName;
    send(message.toCbor());
    return requestId;
}

void SyncEngine::handleProcessorMessage(MessageType type, const QCborMap &message)
{
    switch (type) {
    case MessageType::EntryProcessResponse:
        if (const auto reply = decodeAs<protocol::EntryProcessResponseMessage>(message)) {
            const auto target = m_processorRequests.take(reply->requestId);
            protocol::EntryProcessResult result;
            result.success = reply->success;
            result.result = reply->result;
            result.newValue = reply->newValue;
            result.error = reply->error;
            if (result.success && !result.newValue.isUndefined() && !target.first.isEmpty()
                && lwwMap(target.first))
                put(target.first, target.second, result.newValue);
            Q_EMIT entryProcessed(reply->requestId, result);
        }
        break;
    case MessageType::EntryProcessBatchResponse:
        if (const auto reply = decodeAs<protocol::EntryProcessBatchResponseMessage>(message)) {
            const auto target = m_processorRequests.take(reply->requestId);
            if (!target.first.isEmpty() && lwwMap(target.first)) {
                for (auto it = reply->results.cbegin(); it != reply->results.cend(); ++it) {
                    const QCborMap result = it.value().toMap();
                    const QCborValue newValue = result.value(u"newValue"_s);
                    if (result.value(u"success"_s).toBool() && !newValue.isUndefined())
                        put(target.first, it.key().toString(), newValue);
                }
            }
            Q_EMIT entriesProcessed(reply->requestId, reply->results);
        }
        break;
    case MessageType::RegisterResolverResponse:
        if (const auto reply = decodeAs<protocol::RegisterResolverResponseMessage>(message))
            Q_EMIT resolverReply(
                reply->requestId, reply->success, reply->error.value_or(QString()));
        break;
    case MessageType::UnregisterResolverResponse:
        if (const auto reply = decodeAs<protocol::UnregisterResolverResponseMessage>(message))
            Q_EMIT resolverReply(
                reply->requestId, reply->success, reply->error.value_or(QString()));
        break;
    case MessageType::ListResolversResponse:
        if (const auto reply = decodeAs<protocol::ListResolversResponseMessage>(message))
            Q_EMIT resolversListed(reply->requestId, reply->resolvers);
        break;
    case MessageType::MergeRejected:
        if (const auto rejection = decodeAs<protocol::MergeRejectedMessage>(message))
            Q_EMIT mergeRejected(*rejection);
        break;
    default:
        break;
    }
}

} // namespace wingman::client

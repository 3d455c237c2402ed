#include "client/ReplyDecoder.h"
#include "client/SyncEngine.h"

#include "client/ClientLogging.h"
#include "client/SyncConnection.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"

namespace wingman::client {

using namespace Qt::StringLiterals;
using protocol::MessageType;

void SyncEngine::flushOps()
{
    if (!isAuthenticated())
        return;
    const int maxOps = std::max(1, m_config.maxBatchOps);
    while (m_pending.hasUnsent()) {
        protocol::OpBatchMessage batch;
        batch.ops = m_pending.takeUnsent(m_clock.elapsed(), maxOps);
        send(batch.toCbor());
    }
}

void SyncEngine::onTick()
{
    if (const int expired = m_pending.expire(m_clock.elapsed(), m_config.ackTimeoutMs)) {
        qCInfo(lcClient) << expired << "ops unacknowledged after" << m_config.ackTimeoutMs
                         << "ms; sending them again";
        flushOps();
    }
    for (auto &[name, map] : m_maps)
        sendAll(map->checkStalled(m_config.ackTimeoutMs));
    updateConnectedState();
}

void SyncEngine::updateConnectedState()
{
    if (m_state != State::Syncing)
        return;
    for (const auto &[name, map] : m_maps) {
        if (map->isSyncing())
            return;
    }
    setState(State::Connected);
}

void SyncEngine::handleFrame(QByteArrayView frame)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (!decoded.ok()) {
        qCWarning(lcClient) << "ignoring undecodable frame:" << decoded.error.reason;
        return;
    }
    const quint64 connection = m_connection->generation();
    beginStorage();
    if (decoded.type == u"BATCH"_s) {
        const protocol::BatchDecodeResult batch = protocol::BatchContainer::decode(decoded.message);
        if (!batch.ok)
            qCWarning(lcClient) << "ignoring malformed BATCH:" << batch.error.reason;
        for (const QByteArray &inner : batch.messages) {
            const protocol::FrameDecodeResult message = protocol::Frame::decode(inner);
            if (message.ok())
                handleMessage(message.message);
            else
                qCWarning(lcClient) << "ignoring undecodable message in BATCH";
            // A message may have ended the connection; the rest belonged to it.
            if (connection != m_connection->generation())
                break;
        }
    } else {
        handleMessage(decoded.message);
    }
    commitStorage();
}

void SyncEngine::handleMessage(const QCborMap &message)
{
    // Any server message may carry the server's HLC reading: our clock follows it, and maps in
    // step with the server note it as their lastSyncTimestamp.
    const QCborValue envelope = message.value(u"timestamp"_s);
    if (envelope.isMap()) {
        if (const auto timestamp = protocol::timestampFromCbor(envelope)) {
            m_hlc.update(*timestamp);
            for (auto &[name, map] : m_maps)
                map->noteServerTime(timestamp->millis);
        }
    }

    const QString typeName = message.value(u"type"_s).toString();
    const std::optional<MessageType> type = protocol::messageTypeFromName(typeName);
    if (!type) {
        qCDebug(lcClient) << "ignoring message of unknown type" << typeName;
        return;
    }
    switch (*type) {
    case MessageType::AuthRequired:
        m_authRequested = true;
        sendAuth();
        break;
    case MessageType::AuthAck:
        handleAuthAck();
        break;
    case MessageType::AuthFail:
        handleAuthFail(message);
        break;
    case MessageType::Pong:
        m_connection->notePong();
        break;
    case MessageType::OpAck:
        handleOpAck(message);
        break;
    case MessageType::OpRejected:
        handleOpRejected(message);
        break;
    case MessageType::ServerEvent:
        if (const auto event = decodeAs<protocol::ServerEventMessage>(message))
            handleServerEvent(event->event);
        break;
    case MessageType::ServerBatchEvent:
        if (const auto batch = decodeAs<protocol::ServerBatchEventMessage>(message)) {
            for (const protocol::ServerEventPayload &event : batch->events)
                handleServerEvent(event);
        }
        break;
    case MessageType::QueryResp:
    case MessageType::QueryUpdate:
        handleQueryMessage(*type, message);
        break;
    case MessageType::SearchResp:
    case MessageType::SearchUpdate:
        handleSearchMessage(*type, message);
        break;
    case MessageType::SyncRespRoot:
    case MessageType::SyncRespBuckets:
    case MessageType::SyncRespLeaf:
    case MessageType::SyncResetRequired:
    case MessageType::OrMapSyncRespRoot:
    case MessageType::OrMapSyncRespBuckets:
    case MessageType::OrMapSyncRespLeaf:
    case MessageType::OrMapDiffResponse:
        handleSyncMessage(*type, message);
        break;
    case MessageType::ShutdownPending:
        if (const auto shutdown = decodeAs<protocol::ShutdownPendingMessage>(message)) {
            qCInfo(lcClient) << "server is shutting down; retry in" << shutdown->retryAfter << "ms";
            m_retryAfterMs = shutdown->retryAfter;
        }
        break;
    case MessageType::Error:
        if (const auto failure = decodeAs<protocol::ErrorMessage>(message)) {
            qCWarning(lcClient) << "server error" << failure->code << failure->message;
            Q_EMIT error(u"server error %1: %2"_s.arg(failure->code).arg(failure->message));
        }
        break;
    case MessageType::JournalEvent:
    case MessageType::JournalReadResponse:
        m_journal->handleMessage(*type, message);
        break;
    case MessageType::TopicMessage:
    case MessageType::LockGranted:
    case MessageType::LockReleased:
    case MessageType::CounterResponse:
    case MessageType::CounterUpdate:
        handlePrimitiveMessage(*type, message);
        break;
    case MessageType::EntryProcessResponse:
    case MessageType::EntryProcessBatchResponse:
    case MessageType::RegisterResolverResponse:
    case MessageType::UnregisterResolverResponse:
    case MessageType::ListResolversResponse:
    case MessageType::MergeRejected:
        handleProcessorMessage(*type, message);
        break;
    case MessageType::GcPrune:
        if (const auto prune = decodeAs<protocol::GcPruneMessage>(message)) {
            for (auto &[name, map] : m_maps)
                map->prune(prune->olderThan);
        }
        break;
    default:
        qCDebug(lcClient) << "ignoring" << typeName << "from the server";
        break;
    }
}

void SyncEngine::handleOpAck(const QCborMap &message)
{
    const auto ack = decodeAs<protocol::OpAckMessage>(message);
    if (!ack)
        return;
    struct Outcome {
        QString id;
        bool success = true;
        QString reason;
    };
    QList<Outcome> outcomes;
    if (ack->results) {
        for (const protocol::OpResult &result : *ack->results)
            outcomes.append({ result.opId, result.success, result.error.value_or(QString()) });
    } else {
        for (const QString &id : m_pending.acknowledgedBy(ack->lastId))
            outcomes.append({ id, true, QString() });
    }

    QStringList acknowledged;
    QList<Outcome> rejected;
    beginStorage();
    for (const Outcome &outcome : std::as_const(outcomes)) {
        if (!m_pending.remove(outcome.id))
            continue; // acknowledged before: this was a retransmit
        if (outcome.success) {
            m_storage->markOpSynced(outcome.id);
            acknowledged.append(outcome.id);
        } else {
            m_storage->removeOp(outcome.id);
            rejected.append(outcome);
        }
    }
    if (m_pending.isEmpty())
        m_storage->pruneSyncedOps();
    commitStorage();

    for (const QString &id : std::as_const(acknowledged))
        Q_EMIT opAcknowledged(id);
    for (const Outcome &outcome : std::as_const(rejected)) {
        qCWarning(lcClient) << "op" << outcome.id << "failed:" << outcome.reason;
        Q_EMIT opRejected(outcome.id, outcome.reason);
    }
}

void SyncEngine::handleOpRejected(const QCborMap &message)
{
    const auto rejection = decodeAs<protocol::OpRejectedMessage>(message);
    if (!rejection || !m_pending.remove(rejection->opId))
        return;
    qCWarning(lcClient) << "op" << rejection->opId << "rejected:" << rejection->reason;
    beginStorage();
    m_storage->removeOp(rejection->opId);
    commitStorage();
    Q_EMIT opRejected(rejection->opId, rejection->reason);
}

void SyncEngine::handleServerEvent(const protocol::ServerEventPayload &event)
{
    if (ClientMap *map = findMap(event.mapName))
        map->applyEvent(event);
}

void SyncEngine::handleSyncMessage(MessageType type, const QCborMap &message)
{
    switch (type) {
    case MessageType::SyncRespRoot:
        if (const auto root = decodeAs<protocol::SyncRespRootMessage>(message)) {
            if (ClientMap *map = findMap(root->mapName, MapType::Lww)) {
                const bool wasSynced = map->isSynced();
                afterSyncStep(*map, wasSynced, map->onSyncRoot(root->rootHash, root->timestamp));
            }
        }
        break;
    case MessageType::SyncRespBuckets:
        if (const auto buckets = decodeAs<protocol::SyncRespBucketsMessage>(message)) {
            if (ClientMap *map = findMap(buckets->mapName, MapType::Lww)) {
                const bool wasSynced = map->isSynced();
                afterSyncStep(*map, wasSynced, map->onSyncBuckets(buckets->path, buckets->buckets));
            }
        }
        break;
    case MessageType::SyncRespLeaf:
        if (const auto leaf = decodeAs<protocol::SyncRespLeafMessage>(message)) {
            if (ClientMap *map = findMap(leaf->mapName, MapType::Lww)) {
                const bool wasSynced = map->isSynced();
                map->onLwwLeaf(leaf->path, leaf->records);
                afterSyncStep(*map, wasSynced, {});
            }
        }
        break;
    case MessageType::SyncResetRequired:
        if (const auto reset = decodeAs<protocol::SyncResetRequiredMessage>(message)) {
            qCInfo(lcClient) << "server requires a reset of" << reset->mapName << ":"
                             << reset->reason;
            resetMap(reset->mapName);
        }
        break;
    case MessageType::OrMapSyncRespRoot:
        if (const auto root = decodeAs<protocol::OrMapSyncRespRootMessage>(message)) {
            if (ClientMap *map = findMap(root->mapName, MapType::Or)) {
                const bool wasSynced = map->isSynced();
                afterSyncStep(*map, wasSynced, map->onSyncRoot(root->rootHash, root->timestamp));
            }
        }
        break;
    case MessageType::OrMapSyncRespBuckets:
        if (const auto buckets = decodeAs<protocol::OrMapSyncRespBucketsMessage>(message)) {
            if (ClientMap *map = findMap(buckets->mapName, MapType::Or)) {
                const bool wasSynced = map->isSynced();
                afterSyncStep(*map, wasSynced, map->onSyncBuckets(buckets->path, buckets->buckets));
            }
        }
        break;
    case MessageType::OrMapSyncRespLeaf:
        if (const auto leaf = decodeAs<protocol::OrMapSyncRespLeafMessage>(message)) {
            if (ClientMap *map = findMap(leaf->mapName, MapType::Or)) {
                const bool wasSynced = map->isSynced();
                afterSyncStep(*map, wasSynced, map->onOrLeaf(leaf->path, leaf->entries));
            }
        }
        break;
    case MessageType::OrMapDiffResponse:
        if (const auto diff = decodeAs<protocol::OrMapDiffResponseMessage>(message)) {
            if (ClientMap *map = findMap(diff->mapName, MapType::Or))
                map->onOrEntries(diff->entries);
        }
        break;
    default:
        break;
    }
}

void SyncEngine::afterSyncStep(ClientMap &map, bool wasSynced, const QList<QCborMap> &replies)
{
    sendAll(replies);
    if (!wasSynced && map.isSynced()) {
        qCDebug(lcClient) << "map" << map.name() << "is in sync";
        Q_EMIT synced(map.name());
    }
    updateConnectedState();
}

void SyncEngine::handleQueryMessage(MessageType type, const QCborMap &message)
{
    if (type == MessageType::QueryResp) {
        if (const auto response = decodeAs<protocol::QueryRespMessage>(message)) {
            if (QueryHandle *handle = m_queries.value(response->queryId))
                handle->applyResponse(*response);
        }
        return;
    }
    if (const auto update = decodeAs<protocol::QueryUpdateMessage>(message)) {
        if (QueryHandle *handle = m_queries.value(update->queryId))
            handle->applyUpdate(*update);
    }
}

void SyncEngine::handleSearchMessage(MessageType type, const QCborMap &message)
{
    if (type == MessageType::SearchResp) {
        if (const auto response = decodeAs<protocol::SearchRespMessage>(message)) {
            if (SearchHandle *handle = m_searches.value(response->requestId))
                handle->applyResponse(*response);
        }
        return;
    }
    if (const auto update = decodeAs<protocol::SearchUpdateMessage>(message)) {
        if (SearchHandle *handle = m_searches.value(update->subscriptionId))
            handle->applyUpdate(*update);
    }
}

} // namespace wingman::client

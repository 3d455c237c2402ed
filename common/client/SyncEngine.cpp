#include "client/SyncEngine.h"

#include "client/ClientLogging.h"
#include "client/MemoryClientStorage.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"

#include <QUuid>
#include <QWebSocket>

namespace wingman::client {

using namespace Qt::StringLiterals;
using protocol::MessageType;

namespace {

QString resolveNodeId(const QString &configured)
{
    if (crdt::Hlc::isValidNodeId(configured))
        return configured;
    if (!configured.isEmpty())
        qCWarning(lcClient) << "node id" << configured << "contains ':'; using a random one";
    return u"client-"_s + QUuid::createUuid().toString(QUuid::WithoutBraces);
}

std::unique_ptr<ClientStorage> openStorage(std::unique_ptr<ClientStorage> storage)
{
    if (!storage)
        storage = std::make_unique<MemoryClientStorage>();
    if (!storage->isOpen() && !storage->open())
        qCWarning(lcClient) << "client storage failed to open:" << storage->errorString();
    return storage;
}

template <typename Message> std::optional<Message> decodeAs(const QCborMap &message)
{
    protocol::DecodeError error;
    std::optional<Message> decoded = Message::fromCbor(message, &error);
    if (!decoded) {
        qCWarning(lcClient) << "ignoring malformed" << protocol::messageTypeName(Message::kType)
                            << "message:" << error.field << error.reason;
    }
    return decoded;
}

} // namespace

SyncEngine::SyncEngine(
    SyncEngineConfig config, std::unique_ptr<ClientStorage> storage, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_storage(openStorage(std::move(storage)))
    , m_hlc(resolveNodeId(m_config.nodeId), m_config.clock)
    , m_backoff(m_config.reconnectBaseMs, m_config.reconnectMaxMs, m_config.reconnectJitter,
          m_config.maxReconnectAttempts)
{
    m_clock.start();
    for (const protocol::ClientOp &op : m_storage->unsyncedOps())
        m_pending.add(op);

    m_authTimer.setSingleShot(true);
    m_reconnectTimer.setSingleShot(true);
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(0);
    m_heartbeatTimer.setInterval(std::max(1, m_config.heartbeatIntervalMs));
    // Often enough that a retransmit or sync restart happens close to its timeout.
    m_tickTimer.setInterval(std::clamp(m_config.ackTimeoutMs / 4, 10, 1000));
    connect(&m_authTimer, &QTimer::timeout, this,
        [this] { dropConnection(u"no AUTH_ACK within %1 ms"_s.arg(m_config.authTimeoutMs)); });
    connect(&m_reconnectTimer, &QTimer::timeout, this, &SyncEngine::connectNow);
    connect(&m_flushTimer, &QTimer::timeout, this, &SyncEngine::flushOps);
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &SyncEngine::onHeartbeat);
    connect(&m_tickTimer, &QTimer::timeout, this, &SyncEngine::onTick);
}

SyncEngine::~SyncEngine()
{
    discardSocket();
    for (auto &[name, map] : m_maps)
        map->flushLastSync();
}

void SyncEngine::setAuthToken(const QString &token)
{
    m_token = token;
    if (m_state == State::Error && m_storage->isOpen()) {
        m_backoff.reset();
        connectNow();
        return;
    }
    if (m_state == State::Authenticating && m_authRequested)
        sendAuth();
}

bool SyncEngine::registerMap(const QString &name, MapType type)
{
    if (ClientMap *existing = findMap(name)) {
        if (existing->type() == type)
            return true;
        qCWarning(lcClient) << "map" << name << "is already registered with the other type";
        return false;
    }
    auto map = std::make_unique<ClientMap>(name, type, m_hlc, *m_storage);
    map->setChangeListener([this, name](const QString &key) { Q_EMIT mapChanged(name, key); });
    beginStorage();
    map->load(m_pending.ops());
    commitStorage();
    ClientMap &registered = *m_maps.emplace(name, std::move(map)).first->second;
    if (isAuthenticated())
        send(registered.syncInit());
    return true;
}

crdt::LwwMap *SyncEngine::registerLwwMap(const QString &name)
{
    return registerMap(name, MapType::Lww) ? lwwMap(name) : nullptr;
}

crdt::OrMap *SyncEngine::registerOrMap(const QString &name)
{
    return registerMap(name, MapType::Or) ? orMap(name) : nullptr;
}

crdt::LwwMap *SyncEngine::lwwMap(const QString &name) const
{
    const ClientMap *map = findMap(name, MapType::Lww);
    return map ? map->lwwMap() : nullptr;
}

crdt::OrMap *SyncEngine::orMap(const QString &name) const
{
    const ClientMap *map = findMap(name, MapType::Or);
    return map ? map->orMap() : nullptr;
}

bool SyncEngine::isSynced(const QString &mapName) const
{
    const ClientMap *map = findMap(mapName);
    return map && map->isSynced();
}

void SyncEngine::resetMap(const QString &name)
{
    ClientMap *map = findMap(name);
    if (!map)
        return;
    qCInfo(lcClient) << "resetting map" << name;
    beginStorage();
    map->reset(m_pending.ops());
    commitStorage();
    if (isAuthenticated())
        send(map->syncInit());
}

void SyncEngine::start()
{
    if (m_state != State::Initial && m_state != State::Disconnected && m_state != State::Error)
        return;
    if (!m_storage->isOpen()) {
        setState(State::Error);
        Q_EMIT error(u"client storage is not open: "_s + m_storage->errorString());
        return;
    }
    m_backoff.reset();
    connectNow();
}

void SyncEngine::close()
{
    m_reconnectTimer.stop();
    if (discardSocket()) {
        for (auto &[name, map] : m_maps)
            map->disconnected();
    }
    if (m_state != State::Initial)
        setState(State::Disconnected);
}

std::optional<crdt::LwwRecord> SyncEngine::put(const QString &mapName, const QString &key,
    const QCborValue &value, std::optional<qint64> ttlMs)
{
    ClientMap *map = findMap(mapName, MapType::Lww);
    if (!map) {
        qCWarning(lcClient) << "put: no LWW map" << mapName << "is registered";
        return std::nullopt;
    }
    // One transaction: the record and its op reach storage together or not at all.
    beginStorage();
    protocol::ClientOp op = map->put(key, value, ttlMs);
    const crdt::LwwRecord record = *op.record;
    recordOperation(std::move(op));
    commitStorage();
    return record;
}

std::optional<crdt::LwwRecord> SyncEngine::remove(const QString &mapName, const QString &key)
{
    ClientMap *map = findMap(mapName, MapType::Lww);
    if (!map) {
        qCWarning(lcClient) << "remove: no LWW map" << mapName << "is registered";
        return std::nullopt;
    }
    beginStorage();
    protocol::ClientOp op = map->remove(key);
    const crdt::LwwRecord record = *op.record;
    recordOperation(std::move(op));
    commitStorage();
    return record;
}

std::optional<crdt::OrRecord> SyncEngine::orAdd(const QString &mapName, const QString &key,
    const QCborValue &value, std::optional<qint64> ttlMs)
{
    ClientMap *map = findMap(mapName, MapType::Or);
    if (!map) {
        qCWarning(lcClient) << "orAdd: no OR map" << mapName << "is registered";
        return std::nullopt;
    }
    beginStorage();
    protocol::ClientOp op = map->orAdd(key, value, ttlMs);
    const crdt::OrRecord record = *op.orRecord;
    recordOperation(std::move(op));
    commitStorage();
    return record;
}

QStringList SyncEngine::orRemove(
    const QString &mapName, const QString &key, const QCborValue &value)
{
    ClientMap *map = findMap(mapName, MapType::Or);
    if (!map) {
        qCWarning(lcClient) << "orRemove: no OR map" << mapName << "is registered";
        return {};
    }
    QStringList tags;
    beginStorage();
    for (protocol::ClientOp &op : map->orRemove(key, value)) {
        tags.append(*op.orTag);
        recordOperation(std::move(op));
    }
    commitStorage();
    return tags;
}

QString SyncEngine::recordOperation(protocol::ClientOp op)
{
    beginStorage();
    const QString id = m_storage->appendOp(op);
    commitStorage();
    if (id.isEmpty()) {
        Q_EMIT error(u"op log write failed: "_s + m_storage->errorString());
        return id;
    }
    op.id = id;
    m_pending.add(op);
    // Coalesces the writes of one event-loop turn into one OP_BATCH.
    if (isAuthenticated() && !m_flushTimer.isActive())
        m_flushTimer.start();
    return id;
}

QueryHandle *SyncEngine::subscribeQuery(const QString &mapName, const query::Query &query)
{
    const QString queryId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    auto *handle = new QueryHandle(this, queryId, mapName, query);
    m_queries.insert(queryId, handle);
    // A handle deleted without unsubscribe() still ends its subscription.
    connect(handle, &QObject::destroyed, this, [this, queryId] {
        if (m_queries.remove(queryId) && isAuthenticated())
            send(protocol::QueryUnsubMessage { queryId }.toCbor());
    });
    if (isAuthenticated())
        send(protocol::QuerySubMessage { queryId, mapName, query.toCbor() }.toCbor());
    return handle;
}

void SyncEngine::unsubscribe(QueryHandle *handle)
{
    if (!handle || !m_queries.remove(handle->queryId()))
        return;
    if (isAuthenticated())
        send(protocol::QueryUnsubMessage { handle->queryId() }.toCbor());
    handle->deleteLater();
}

ClientMap *SyncEngine::findMap(const QString &name) const
{
    const auto it = m_maps.find(name);
    return it == m_maps.end() ? nullptr : it->second.get();
}

ClientMap *SyncEngine::findMap(const QString &name, MapType type) const
{
    ClientMap *map = findMap(name);
    return map && map->type() == type ? map : nullptr;
}

void SyncEngine::setState(State state)
{
    if (m_state == state)
        return;
    qCDebug(lcClient) << "state" << m_state << "->" << state;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void SyncEngine::beginStorage()
{
    // Without a transaction every write still goes through, one at a time.
    if (m_storageDepth++ == 0)
        m_inTransaction = m_storage->begin();
}

void SyncEngine::commitStorage()
{
    if (--m_storageDepth > 0 || !std::exchange(m_inTransaction, false))
        return;
    if (!m_storage->commit())
        Q_EMIT error(u"client storage commit failed: "_s + m_storage->errorString());
}

void SyncEngine::connectNow()
{
    discardSocket();
    m_authRequested = false;
    setState(State::Connecting);
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    connect(m_socket, &QWebSocket::connected, this, &SyncEngine::onSocketConnected);
    connect(m_socket, &QWebSocket::disconnected, this, &SyncEngine::onSocketClosed);
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        &SyncEngine::onSocketClosed);
    connect(m_socket, &QWebSocket::binaryMessageReceived, this,
        [this](const QByteArray &frame) { handleFrame(frame); });
    connect(m_socket, &QWebSocket::textMessageReceived, this,
        [this](const QString &frame) { handleFrame(frame.toUtf8()); });
    // One deadline from opening the socket to AUTH_ACK covers a handshake that hangs, a lost
    // AUTH_REQUIRED and a lost AUTH_ACK alike.
    m_authTimer.start(std::max(1, m_config.authTimeoutMs));
    qCDebug(lcClient) << "connecting to" << m_config.url;
    m_socket->open(m_config.url);
}

void SyncEngine::onSocketConnected()
{
    setState(State::Authenticating);
}

void SyncEngine::onSocketClosed()
{
    if (!m_socket)
        return;
    const QString reason = m_socket->closeCode() != QWebSocketProtocol::CloseCodeNormal
            || !m_socket->closeReason().isEmpty()
        ? u"closed (%1 %2)"_s.arg(int(m_socket->closeCode())).arg(m_socket->closeReason())
        : m_socket->errorString();
    dropConnection(reason);
}

bool SyncEngine::discardSocket()
{
    m_authTimer.stop();
    m_heartbeatTimer.stop();
    m_tickTimer.stop();
    m_flushTimer.stop();
    if (!m_socket)
        return false;
    ++m_connection;
    QWebSocket *socket = std::exchange(m_socket, nullptr);
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
    return true;
}

void SyncEngine::dropConnection(const QString &reason)
{
    if (!discardSocket())
        return;
    qCInfo(lcClient) << "connection to" << m_config.url << "lost:" << reason;
    m_pending.markAllUnsent();
    for (auto &[name, map] : m_maps)
        map->disconnected();
    for (const QPointer<QueryHandle> &handle : std::as_const(m_queries)) {
        if (handle)
            handle->connectionLost();
    }
    scheduleReconnect();
}

void SyncEngine::scheduleReconnect()
{
    if (m_state == State::Error || m_state == State::Disconnected)
        return;
    std::optional<int> delay = m_backoff.nextDelay();
    if (!delay) {
        setState(State::Disconnected);
        Q_EMIT error(u"gave up after %1 reconnect attempts"_s.arg(m_backoff.attempts()));
        return;
    }
    // SHUTDOWN_PENDING told us when the server expects to be back.
    const qint64 wait = std::max<qint64>(*delay, std::exchange(m_retryAfterMs, 0));
    qCDebug(lcClient) << "reconnecting in" << wait << "ms";
    setState(State::Backoff);
    m_reconnectTimer.start(int(wait));
}

void SyncEngine::send(const QCborMap &message)
{
    if (m_socket)
        m_socket->sendBinaryMessage(protocol::Frame::encode(message));
}

void SyncEngine::sendAll(const QList<QCborMap> &messages)
{
    for (const QCborMap &message : messages)
        send(message);
}

void SyncEngine::sendAuth()
{
    if (m_token.isEmpty()) {
        // Nothing to send yet; setAuthToken() continues from here, so do not time out.
        qCInfo(lcClient) << "server requires authentication; waiting for a token";
        m_authTimer.stop();
        return;
    }
    m_authTimer.start(std::max(1, m_config.authTimeoutMs));
    send(protocol::AuthMessage { m_token, std::nullopt }.toCbor());
}

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

void SyncEngine::onHeartbeat()
{
    if (m_sinceLastPong.elapsed() > m_config.heartbeatTimeoutMs) {
        dropConnection(u"no PONG for %1 ms"_s.arg(m_sinceLastPong.elapsed()));
        return;
    }
    send(protocol::PingMessage { crdt::Hlc::systemMillis() }.toCbor());
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
    const quint64 connection = m_connection;
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
            if (connection != m_connection)
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
        m_sinceLastPong.start();
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

void SyncEngine::handleAuthAck()
{
    // The server may answer a repeated AUTH again; only the first ACK starts the session.
    if (m_state != State::Authenticating)
        return;
    m_authTimer.stop();
    m_backoff.reset();
    m_retryAfterMs = 0;
    qCInfo(lcClient) << "authenticated with" << m_config.url;
    setState(State::Syncing);

    m_sinceLastPong.start();
    m_heartbeatTimer.start();
    m_tickTimer.start();

    m_pending.markAllUnsent();
    flushOps();
    for (auto &[name, map] : m_maps)
        send(map->syncInit());
    for (const QPointer<QueryHandle> &handle : std::as_const(m_queries)) {
        if (handle) {
            send(protocol::QuerySubMessage {
                handle->queryId(), handle->mapName(), handle->query().toCbor() }
                     .toCbor());
        }
    }
    updateConnectedState();
}

void SyncEngine::handleAuthFail(const QCborMap &message)
{
    const auto failure = protocol::AuthFailMessage::fromCbor(message);
    const QString reason = failure ? failure->error : QString();
    qCWarning(lcClient) << "authentication failed:" << reason;
    // Retrying with the same token cannot succeed: wait for setAuthToken().
    discardSocket();
    for (auto &[name, map] : m_maps)
        map->disconnected();
    setState(State::Error);
    Q_EMIT error(u"authentication failed: "_s + reason);
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

} // namespace wingman::client

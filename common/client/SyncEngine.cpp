#include "client/SyncEngine.h"

#include "client/ClientLogging.h"
#include "client/MemoryClientStorage.h"
#include "client/SyncConnection.h"
#include "protocol/Messages.h"

#include <QUuid>

namespace wingman::client {

using namespace Qt::StringLiterals;

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

} // namespace

SyncEngine::SyncEngine(
    SyncEngineConfig config, std::unique_ptr<ClientStorage> storage, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_storage(openStorage(std::move(storage)))
    , m_hlc(resolveNodeId(m_config.nodeId), m_config.clock)
    , m_backoff(m_config.reconnectBaseMs, m_config.reconnectMaxMs, m_config.reconnectJitter,
          m_config.maxReconnectAttempts)
    , m_connection(new SyncConnection(m_config, this))
    , m_journal(new JournalClient([this](const QCborMap &message) { send(message); }, this))
{
    m_clock.start();
    for (const protocol::ClientOp &op : m_storage->unsyncedOps())
        m_pending.add(op);

    m_reconnectTimer.setSingleShot(true);
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(0);
    // Often enough that a retransmit or sync restart happens close to its timeout.
    m_tickTimer.setInterval(std::clamp(m_config.ackTimeoutMs / 4, 10, 1000));
    connect(m_connection, &SyncConnection::connected, this, &SyncEngine::onSocketConnected);
    connect(m_connection, &SyncConnection::lost, this, &SyncEngine::dropConnection);
    connect(m_connection, &SyncConnection::frameReceived, this,
        [this](const QByteArray &frame) { handleFrame(frame); });
    connect(&m_reconnectTimer, &QTimer::timeout, this, &SyncEngine::connectNow);
    connect(&m_flushTimer, &QTimer::timeout, this, &SyncEngine::flushOps);
    connect(&m_tickTimer, &QTimer::timeout, this, &SyncEngine::onTick);
}

SyncEngine::~SyncEngine()
{
    discardSocket();
    for (auto &[name, map] : m_maps)
        map->flushLastSync();
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

SearchHandle *SyncEngine::makeSearchHandle(const QString &mapName, bool live)
{
    const QString id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    auto *handle = new SearchHandle(this, id, mapName, live);
    m_searches.insert(id, handle);
    connect(handle, &QObject::destroyed, this, [this, id, live] {
        if (m_searches.remove(id) && live)
            send(protocol::SearchUnsubMessage { id }.toCbor());
    });
    return handle;
}

SearchHandle *SyncEngine::search(const QString &mapName, const QString &query,
    const std::optional<protocol::SearchOptions> &options)
{
    if (!isAuthenticated())
        return nullptr;
    SearchHandle *handle = makeSearchHandle(mapName, false);
    send(protocol::SearchMessage { handle->id(), mapName, query, options }.toCbor());
    return handle;
}

SearchHandle *SyncEngine::searchSubscribe(const QString &mapName, const QString &query,
    const std::optional<protocol::SearchOptions> &options)
{
    SearchHandle *handle = makeSearchHandle(mapName, true);
    send(protocol::SearchSubMessage { handle->id(), mapName, query, options }.toCbor());
    return handle;
}

void SyncEngine::unsubscribe(SearchHandle *handle)
{
    if (!handle || !m_searches.remove(handle->id()))
        return;
    if (handle->isLive())
        send(protocol::SearchUnsubMessage { handle->id() }.toCbor());
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
    const bool wasAuthenticated = isAuthenticated();
    m_state = state;
    if (wasAuthenticated && !isAuthenticated())
        primitivesDisconnected();
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

} // namespace wingman::client

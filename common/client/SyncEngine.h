#pragma once

#include "client/ClientMap.h"
#include "client/ClientStorage.h"
#include "client/CounterHandle.h"
#include "client/JournalClient.h"
#include "client/LockHandle.h"
#include "client/PendingOps.h"
#include "client/QueryHandle.h"
#include "client/ReconnectBackoff.h"
#include "client/SearchHandle.h"
#include "client/SyncEngineConfig.h"
#include "client/TopicHandle.h"
#include "crdt/Hlc.h"
#include "protocol/ProcessorMessages.h"
#include "query/Query.h"

#include <QByteArrayView>
#include <QCborMap>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <map>
#include <memory>

namespace wingman::client {

class SyncConnection;

// The client side of the TopGun protocol: keeps registered CRDT maps in sync with a Wingman (or
// TopGun) server over one WebSocket, offline first. Local writes (put, remove, orAdd, orRemove)
// apply at once, go to the op log in ClientStorage, and are sent in OP_BATCHes until the server
// acknowledges them, across reconnects and restarts. After each AUTH_ACK the engine re-sends
// unacknowledged ops, runs a Merkle catch-up per map and re-subscribes its queries; in between
// it applies the server's live events. Reconnects use exponential backoff with jitter; a
// heartbeat detects dead links; lost acks and stalled syncs are retried (CRDT merges make
// repeats harmless).
//
// States: Initial → Connecting → Authenticating → Syncing → Connected; Backoff between
// attempts; Disconnected after close() or when attempts run out; Error after AUTH_FAIL (a new
// token reconnects) or when storage cannot be opened.
class SyncEngine : public QObject
{
    Q_OBJECT
public:
    enum class State {
        Initial,
        Connecting,
        Authenticating,
        Syncing,
        Connected,
        Backoff,
        Disconnected,
        Error
    };
    Q_ENUM(State)

    // storage null: a MemoryClientStorage. It is opened here if it is not open yet.
    explicit SyncEngine(SyncEngineConfig config, std::unique_ptr<ClientStorage> storage = {},
        QObject *parent = nullptr);
    ~SyncEngine() override;

    State state() const { return m_state; }
    const SyncEngineConfig &config() const { return m_config; }
    const QString &nodeId() const { return m_hlc.nodeId(); }
    crdt::Hlc &hlc() { return m_hlc; }
    ClientStorage &storage() { return *m_storage; }

    // Sent in AUTH; setting one while waiting for it (or after AUTH_FAIL) authenticates again.
    void setAuthToken(const QString &token);

    // Registers a map (loading what storage holds for it) and syncs it whenever connected.
    // Registering a name again with the same type is harmless; with the other type it fails
    // (false, or a null map).
    bool registerMap(const QString &name, MapType type);
    crdt::LwwMap *registerLwwMap(const QString &name);
    crdt::OrMap *registerOrMap(const QString &name);
    // The registered map, or null. Read from it freely; write through the engine, which logs
    // and sends the write (a direct write to the map is never sent).
    crdt::LwwMap *lwwMap(const QString &name) const;
    crdt::OrMap *orMap(const QString &name) const;
    // The map's Merkle catch-up completed on the current connection.
    bool isSynced(const QString &mapName) const;
    // Wipes the map's local data and lastSyncTimestamp and syncs it from scratch (what
    // SYNC_RESET_REQUIRED asks for). Ops not yet acknowledged are kept and re-applied.
    void resetMap(const QString &name);

    // Connects (again after close()); the engine then reconnects by itself until close().
    void start();
    void close();

    // Local writes to a registered map of the matching type: applied, logged, sent. nullopt /
    // empty when the map is not registered as that type.
    std::optional<crdt::LwwRecord> put(const QString &mapName, const QString &key,
        const QCborValue &value, std::optional<qint64> ttlMs = std::nullopt);
    std::optional<crdt::LwwRecord> remove(const QString &mapName, const QString &key);
    std::optional<crdt::OrRecord> orAdd(const QString &mapName, const QString &key,
        const QCborValue &value, std::optional<qint64> ttlMs = std::nullopt);
    // Removes every observed record of key with this value; returns the tombstoned tags.
    QStringList orRemove(const QString &mapName, const QString &key, const QCborValue &value);

    // Writes op to the op log first, then sends it if connected. Returns the op id, or an empty
    // string when the op log could not be written (error() says why). The op is not applied to
    // any local map.
    QString recordOperation(protocol::ClientOp op);
    // Ops logged but not yet acknowledged.
    qsizetype pendingOpCount() const { return m_pending.size(); }

    // A live query; the handle belongs to the engine until unsubscribe() (deleting it
    // unsubscribes too).
    QueryHandle *subscribeQuery(const QString &mapName, const query::Query &query = {});
    void unsubscribe(QueryHandle *handle);
    // Full-text search (docs/protocol.md). search() needs an authenticated link (null without
    // one); searchSubscribe() sends SEARCH_SUB at once over whatever link is open, and never again.
    SearchHandle *search(const QString &mapName, const QString &query,
        const std::optional<protocol::SearchOptions> &options = std::nullopt);
    SearchHandle *searchSubscribe(const QString &mapName, const QString &query,
        const std::optional<protocol::SearchOptions> &options = std::nullopt);
    void unsubscribe(SearchHandle *handle);

    // The server's event journal: reads and subscriptions on this engine's connection.
    JournalClient &journal() { return *m_journal; }

    // Pub/sub, locks and PN counters (docs/protocol.md): one handle per name, made on first use
    // and owned by the engine.
    TopicHandle *topic(const QString &name);
    LockHandle *lock(const QString &name);
    CounterHandle *counter(const QString &name);
    // Entry processors (docs/protocol.md "Entry processors"): processor is {name, code, args?}.
    // Returns the request id; entryProcessed / entriesProcessed answer it. Not authenticated:
    // answered at once with success false, "Not connected to server". A successful answer with a
    // new value also puts that value into the registered LWW map, as the TopGun client does.
    QString executeOnKey(const QString &mapName, const QString &key, const QCborMap &processor);
    QString executeOnKeys(
        const QString &mapName, const QStringList &keys, const QCborMap &processor);
    // Conflict resolvers (docs/protocol.md "Conflict resolvers"): resolver is {name, code,
    // priority?, keyPattern?}. Answered by resolverReply / resolversListed; a write a resolver
    // refused is reported by mergeRejected.
    QString registerResolver(const QString &mapName, const QCborMap &resolver);
    QString unregisterResolver(const QString &mapName, const QString &name);
    QString listResolvers(const std::optional<QString> &mapName = std::nullopt);

Q_SIGNALS:
    void stateChanged(wingman::client::SyncEngine::State state);
    void opAcknowledged(const QString &opId);
    // The server refused the op (OP_REJECTED or a failed result); it left the op log. The local
    // map keeps the value.
    void opRejected(const QString &opId, const QString &reason);
    // A key of a map changed, locally or from the server.
    void mapChanged(const QString &mapName, const QString &key);
    // The map's Merkle catch-up completed (once per connection).
    void synced(const QString &mapName);
    void error(const QString &reason);
    void entryProcessed(
        const QString &requestId, const wingman::protocol::EntryProcessResult &result);
    // results: key -> {success, result?, newValue?, error?}
    void entriesProcessed(const QString &requestId, const QCborMap &results);
    void resolverReply(const QString &requestId, bool success, const QString &error);
    void resolversListed(
        const QString &requestId, const QList<wingman::protocol::ResolverInfo> &resolvers);
    void mergeRejected(const wingman::protocol::MergeRejectedMessage &rejection);

private:
    friend class TopicHandle;
    friend class LockHandle;
    friend class CounterHandle;

    ClientMap *findMap(const QString &name) const;
    ClientMap *findMap(const QString &name, MapType type) const;
    bool isAuthenticated() const
    {
        return m_state == State::Syncing || m_state == State::Connected;
    }
    void setState(State state);
    // Nested transactions collapse into the outermost.
    void beginStorage();
    void commitStorage();

    // SyncEngineConnection.cpp: the link, authentication, reconnects.
    void connectNow();
    void onSocketConnected();
    // Tears the current socket down without signals; true if there was one.
    bool discardSocket();
    void dropConnection(const QString &reason);
    void scheduleReconnect();
    void send(const QCborMap &message);
    void sendAll(const QList<QCborMap> &messages);
    void sendAuth();
    void handleAuthAck();
    void handleAuthFail(const QCborMap &message);

    // SyncEngineSync.cpp: what arrives on the link, op acks, Merkle sync, queries.
    void flushOps();
    void onTick();
    void updateConnectedState();
    void handleFrame(QByteArrayView frame);
    void handleMessage(const QCborMap &message);
    void handleOpAck(const QCborMap &message);
    void handleOpRejected(const QCborMap &message);
    void handleServerEvent(const protocol::ServerEventPayload &event);
    void handleSyncMessage(protocol::MessageType type, const QCborMap &message);
    void handleQueryMessage(protocol::MessageType type, const QCborMap &message);
    void handleProcessorMessage(protocol::MessageType type, const QCborMap &message);
    void handleSearchMessage(protocol::MessageType type, const QCborMap &message);
    SearchHandle *makeSearchHandle(const QString &mapName, bool live);
    void afterSyncStep(ClientMap &map, bool wasSynced, const QList<QCborMap> &replies);

    // SyncEnginePrimitives.cpp: topics, locks, counters.
    void handlePrimitiveMessage(protocol::MessageType type, const QCborMap &message);
    // After AUTH_ACK: topics subscribe again and flush what was published offline.
    void resumePrimitives();
    // The session ended: held locks are lost.
    void primitivesDisconnected();

    SyncEngineConfig m_config;
    std::unique_ptr<ClientStorage> m_storage;
    crdt::Hlc m_hlc;
    std::map<QString, std::unique_ptr<ClientMap>> m_maps;
    PendingOps m_pending;
    ReconnectBackoff m_backoff;
    QHash<QString, QPointer<QueryHandle>> m_queries;
    QHash<QString, QPointer<SearchHandle>> m_searches;
    QHash<QString, TopicHandle *> m_topics;
    QHash<QString, LockHandle *> m_locks;
    QHash<QString, CounterHandle *> m_counters;
    QHash<QString, std::pair<QString, QString>> m_processorRequests; // id -> map, key

    State m_state = State::Initial;
    QString m_token;
    SyncConnection *m_connection;
    JournalClient *m_journal;
    bool m_authRequested = false;
    qint64 m_retryAfterMs = 0;
    int m_storageDepth = 0;
    bool m_inTransaction = false;
    QElapsedTimer m_clock;
    QTimer m_reconnectTimer;
    QTimer m_tickTimer;
    QTimer m_flushTimer;
};

} // namespace wingman::client

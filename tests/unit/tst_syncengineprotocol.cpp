// SyncEngine against a scripted server: the message sequences of docs/protocol.md, checked one by
// one without a real Wingman node.
#include "client/MemoryClientStorage.h"
#include "client/SyncEngine.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"

#include <QSignalSpy>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>

using namespace wingman;
using namespace wingman::client;
using State = SyncEngine::State;

namespace {

const QString kToken = QStringLiteral("token-1");

QString typeOf(const QCborMap &message)
{
    return message.value(QStringLiteral("type")).toString();
}

QCborMap payloadOf(const QCborMap &message)
{
    return message.value(QStringLiteral("payload")).toMap();
}

QStringList opIds(const QCborMap &batch)
{
    QStringList ids;
    const auto decoded = protocol::OpBatchMessage::fromCbor(batch);
    for (const protocol::ClientOp &op : decoded->ops)
        ids.append(op.id.value_or(QString()));
    return ids;
}

// A WebSocket server whose every move the test makes: it records what clients send and sends
// only what it is told to (AUTH_REQUIRED on connect, unless switched off).
class FakeServer : public QObject
{
public:
    FakeServer()
        : m_server(QStringLiteral("fake"), QWebSocketServer::NonSecureMode)
    {
        connect(&m_server, &QWebSocketServer::newConnection, this, [this] {
            while (QWebSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                m_sockets.append(socket);
                connect(socket, &QWebSocket::binaryMessageReceived, this,
                    [this](const QByteArray &frame) {
                        const auto decoded = protocol::Frame::decode(frame);
                        if (decoded.ok())
                            m_inbox.append(decoded.message);
                        m_types.append(decoded.type);
                    });
                if (sendAuthRequired)
                    send(QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH_REQUIRED") } });
            }
        });
    }

    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QUrl url() const
    {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_server.serverPort()));
    }
    int connections() const { return int(m_sockets.size()); }
    QWebSocketServer &server() { return m_server; }
    QWebSocket *current() const { return m_sockets.isEmpty() ? nullptr : m_sockets.last(); }

    void send(const QCborMap &message)
    {
        current()->sendBinaryMessage(protocol::Frame::encode(message));
    }
    void sendRaw(const QByteArray &frame) { current()->sendBinaryMessage(frame); }

    std::optional<QCborMap> take(const QString &type, int timeoutMs = 3000)
    {
        std::optional<QCborMap> found;
        (void)QTest::qWaitFor(
            [&] {
                for (qsizetype i = 0; i < m_inbox.size(); ++i) {
                    if (typeOf(m_inbox.at(i)) == type) {
                        found = m_inbox.takeAt(i);
                        return true;
                    }
                }
                return false;
            },
            timeoutMs);
        return found;
    }
    bool has(const QString &type) const
    {
        return std::any_of(
            m_inbox.begin(), m_inbox.end(), [&](const QCborMap &m) { return typeOf(m) == type; });
    }
    int count(const QString &type) const { return int(m_types.count(type)); }
    void clearInbox() { m_inbox.clear(); }

    // Accepts the AUTH on the current connection.
    bool acceptAuth()
    {
        const auto auth = take(QStringLiteral("AUTH"));
        if (!auth || auth->value(QStringLiteral("token")).toString() != kToken)
            return false;
        send(protocol::AuthAckMessage {}.toCbor());
        return true;
    }

    bool sendAuthRequired = true;

private:
    QWebSocketServer m_server;
    QList<QWebSocket *> m_sockets;
    QList<QCborMap> m_inbox;
    QStringList m_types;
};

SyncEngineConfig fastConfig(const QUrl &url, const QString &nodeId = QStringLiteral("client-a"))
{
    SyncEngineConfig config;
    config.url = url;
    config.nodeId = nodeId;
    config.reconnectBaseMs = 50;
    config.reconnectMaxMs = 200;
    config.authTimeoutMs = 1000;
    config.ackTimeoutMs = 300;
    config.heartbeatIntervalMs = 100;
    config.heartbeatTimeoutMs = 1000;
    return config;
}

protocol::OpAckMessage ackFor(const QStringList &ids, bool withResults = true)
{
    protocol::OpAckMessage ack;
    ack.lastId = ids.last();
    if (withResults) {
        ack.results = QList<protocol::OpResult>();
        for (const QString &id : ids)
            ack.results->append({ id, true, protocol::WriteConcern::Applied, std::nullopt });
    }
    return ack;
}

} // namespace

class tst_SyncEngineProtocol : public QObject
{
    Q_OBJECT

    std::unique_ptr<FakeServer> m_server;

    std::unique_ptr<SyncEngine> makeEngine(std::unique_ptr<ClientStorage> storage = {})
    {
        auto engine = std::make_unique<SyncEngine>(fastConfig(m_server->url()), std::move(storage));
        engine->setAuthToken(kToken);
        return engine;
    }

    // Connects, authenticates and answers the map's SYNC_INIT with an equal (empty) root.
    bool connectEngine(SyncEngine &engine)
    {
        engine.start();
        if (!QTest::qWaitFor([&] { return m_server->connections() > 0; }, 3000))
            return false;
        if (!m_server->acceptAuth())
            return false;
        return QTest::qWaitFor(
            [&] { return engine.state() == State::Syncing || engine.state() == State::Connected; },
            3000);
    }

    void answerRoot(const QString &mapName, quint32 rootHash = 0)
    {
        m_server->send(protocol::SyncRespRootMessage { mapName, rootHash,
            crdt::Timestamp { crdt::Hlc::systemMillis(), 0, "server" },
            {} }.toCbor());
    }

private Q_SLOTS:
    void init()
    {
        m_server = std::make_unique<FakeServer>();
        QVERIFY(m_server->listen());
    }

    void cleanup() { m_server.reset(); }

    void statesFollowTheHandshake()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        QSignalSpy states(engine.get(), &SyncEngine::stateChanged);
        QSignalSpy synced(engine.get(), &SyncEngine::synced);
        QCOMPARE(engine->state(), State::Initial);
        engine->start();

        QVERIFY(m_server->acceptAuth());
        const auto init = m_server->take("SYNC_INIT");
        QVERIFY(init);
        QCOMPARE(init->value(QStringLiteral("mapName")).toString(), QStringLiteral("todos"));
        QCOMPARE(engine->state(), State::Syncing);
        answerRoot("todos");
        QTRY_COMPARE(engine->state(), State::Connected);
        QCOMPARE(synced.count(), 1);
        QCOMPARE(synced.first().first().toString(), QStringLiteral("todos"));

        QList<State> sequence;
        for (const auto &args : states)
            sequence.append(args.first().value<State>());
        QCOMPARE(sequence,
            (QList<State> {
                State::Connecting, State::Authenticating, State::Syncing, State::Connected }));
        QVERIFY(!m_server->has("OP_BATCH")); // nothing to send
    }

    void offlineWritesGoOutInOneBatchAfterAuth()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        for (int i = 1; i <= 12; ++i)
            QVERIFY(engine->put("todos", QString("k%1").arg(i), i));
        QCOMPARE(engine->pendingOpCount(), 12);
        QVERIFY(!m_server->has("OP_BATCH"));

        QVERIFY(connectEngine(*engine));
        const auto batch = m_server->take("OP_BATCH");
        QVERIFY(batch);
        QStringList expected;
        for (int i = 1; i <= 12; ++i)
            expected.append(QString::number(i));
        QCOMPARE(opIds(*batch), expected);
        const auto op = protocol::OpBatchMessage::fromCbor(*batch)->ops.at(4);
        QCOMPARE(op.key, QStringLiteral("k5"));
        QCOMPARE(op.record->value, QCborValue(5));
        QCOMPARE(op.record->timestamp.nodeId, QStringLiteral("client-a"));
    }

    void writesWhileConnectedAreBatchedPerTurn()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        QVERIFY(connectEngine(*engine));
        for (int i = 0; i < 3; ++i)
            engine->put("todos", QString("k%1").arg(i), i);
        const auto batch = m_server->take("OP_BATCH");
        QVERIFY(batch);
        QCOMPARE(opIds(*batch), (QStringList { "1", "2", "3" }));
        QCOMPARE(m_server->count("OP_BATCH"), 1);
    }

    void resultsAcknowledgeEachListedOp()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        QSignalSpy acked(engine.get(), &SyncEngine::opAcknowledged);
        for (int i = 1; i <= 3; ++i)
            engine->put("todos", QString("k%1").arg(i), i);
        QVERIFY(connectEngine(*engine));
        QVERIFY(m_server->take("OP_BATCH"));
        // Only "1" and "3" made it: "2" stays pending and is sent again.
        auto ack = ackFor({ "1", "3" });
        m_server->send(ack.toCbor());
        QTRY_COMPARE(acked.count(), 2);
        QCOMPARE(acked.at(0).first().toString(), QStringLiteral("1"));
        QCOMPARE(acked.at(1).first().toString(), QStringLiteral("3"));
        QCOMPARE(engine->pendingOpCount(), 1);
        QCOMPARE(engine->storage().unsyncedOps().size(), 1);

        const auto retransmit = m_server->take("OP_BATCH");
        QVERIFY(retransmit);
        QCOMPARE(opIds(*retransmit), QStringList { "2" });
        m_server->send(ackFor({ "2" }).toCbor());
        QTRY_COMPARE(engine->pendingOpCount(), 0);
        QVERIFY(engine->storage().unsyncedOps().isEmpty());
    }

    void lastIdWithoutResultsComparesNumerically()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        for (int i = 1; i <= 10; ++i)
            engine->put("todos", QString("k%1").arg(i), i);
        QVERIFY(connectEngine(*engine));
        QVERIFY(m_server->take("OP_BATCH"));
        // "10" < "9" as strings; the batch ended with "10", so all ten are acknowledged.
        m_server->send(ackFor({ "10" }, false).toCbor());
        QTRY_COMPARE(engine->pendingOpCount(), 0);
    }

    void unacknowledgedOpsAreRetransmitted()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        QVERIFY(connectEngine(*engine));
        engine->put("todos", "k", 1);
        QVERIFY(m_server->take("OP_BATCH"));
        const auto again = m_server->take("OP_BATCH", 2000);
        QVERIFY(again);
        QCOMPARE(opIds(*again), QStringList { "1" });
        m_server->send(ackFor({ "1" }).toCbor());
        QTRY_COMPARE(engine->pendingOpCount(), 0);
    }

    void rejectedOpLeavesTheLog()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("secret");
        QSignalSpy rejected(engine.get(), &SyncEngine::opRejected);
        QSignalSpy acked(engine.get(), &SyncEngine::opAcknowledged);
        engine->put("secret", "k", 1);
        QVERIFY(connectEngine(*engine));
        QVERIFY(m_server->take("OP_BATCH"));
        m_server->send(protocol::OpRejectedMessage { "1", "access denied", 403, {} }.toCbor());
        QVERIFY(rejected.wait(2000));
        QCOMPARE(rejected.first().at(0).toString(), QStringLiteral("1"));
        QCOMPARE(rejected.first().at(1).toString(), QStringLiteral("access denied"));
        QCOMPARE(engine->pendingOpCount(), 0);
        QVERIFY(engine->storage().unsyncedOps().isEmpty());
        // A failed result for the same op after the rejection changes nothing.
        protocol::OpAckMessage ack = ackFor({ "1" });
        (*ack.results)[0].success = false;
        m_server->send(ack.toCbor());
        QVERIFY(!rejected.wait(200));
        QCOMPARE(acked.count(), 0);
    }

    void serverEventsInABatchApplyInOrder()
    {
        auto engine = makeEngine();
        crdt::LwwMap *todos = engine->registerLwwMap("todos");
        QVERIFY(connectEngine(*engine));
        QSignalSpy changed(engine.get(), &SyncEngine::mapChanged);

        const qint64 base = crdt::Hlc::systemMillis() + 5000;
        QByteArrayList messages;
        for (int i = 0; i < 3; ++i) {
            protocol::ServerEventMessage event;
            event.event.mapName = "todos";
            event.event.key = "k";
            event.event.eventType = protocol::ServerEventType::Put;
            event.event.record
                = crdt::LwwRecord { i, crdt::Timestamp { base + i, 0, "other" }, {} };
            messages.append(protocol::Frame::encode(event.toCbor()));
        }
        protocol::ServerEventMessage withEnvelope;
        withEnvelope.event.mapName = "todos";
        withEnvelope.event.key = "k2";
        withEnvelope.event.record
            = crdt::LwwRecord { "x", crdt::Timestamp { base, 1, "other" }, {} };
        withEnvelope.envelopeTimestamp = crdt::Timestamp { base + 10, 4, "server" };
        messages.append(protocol::Frame::encode(withEnvelope.toCbor()));
        m_server->sendRaw(protocol::BatchContainer::encode(messages));

        QTRY_COMPARE(changed.count(), 4);
        QCOMPARE(todos->get("k"), QCborValue(2));
        QCOMPARE(todos->get("k2"), QCborValue("x"));
        QCOMPARE(changed.at(0).at(1).toString(), QStringLiteral("k"));
        // The envelope timestamp moved our clock past it.
        QVERIFY((engine->hlc().now() > crdt::Timestamp { base + 10, 4, "server" }));
    }

    void merkleWalkPullsDifferingLeaves()
    {
        crdt::Hlc serverClock("server");
        crdt::LwwMap serverMap(serverClock);
        serverMap.set("a", 1);
        serverMap.set("b", 2);

        auto engine = makeEngine();
        crdt::LwwMap *todos = engine->registerLwwMap("todos");
        QSignalSpy synced(engine.get(), &SyncEngine::synced);
        QVERIFY(connectEngine(*engine));
        QVERIFY(m_server->take("SYNC_INIT"));
        answerRoot("todos", serverMap.merkleTree().rootHash());
        // Answer every bucket request from the server map until the client stops asking.
        while (synced.isEmpty()) {
            const auto request = m_server->take("MERKLE_REQ_BUCKET");
            QVERIFY(request);
            const QString path = payloadOf(*request).value(QStringLiteral("path")).toString();
            if (path.size() < 3) {
                m_server->send(protocol::SyncRespBucketsMessage { "todos", path,
                    serverMap.merkleTree().buckets(path),
                    {} }.toCbor());
                continue;
            }
            protocol::SyncRespLeafMessage leaf { "todos", path, {}, {} };
            for (const QString &key : serverMap.merkleTree().keysInBucket(path))
                leaf.records.append({ key, *serverMap.getRecord(key) });
            m_server->send(leaf.toCbor());
            (void)QTest::qWaitFor(
                [&] { return !synced.isEmpty() || m_server->has("MERKLE_REQ_BUCKET"); }, 1000);
        }
        QCOMPARE(todos->get("a"), QCborValue(1));
        QCOMPARE(todos->get("b"), QCborValue(2));
        QCOMPARE(engine->state(), State::Connected);
        QVERIFY(engine->storage().lastSyncTimestamp("todos") > 0);
    }

    void syncResetWipesAndStartsOver()
    {
        auto storage = std::make_unique<MemoryClientStorage>();
        storage->open();
        const qint64 monthAgo = crdt::Hlc::systemMillis() - 32LL * 24 * 3600 * 1000;
        storage->setLastSyncTimestamp("todos", monthAgo);
        storage->storeLwwRecord(
            "todos", "ghost", { "boo", crdt::Timestamp { monthAgo, 0, "x" }, {} });
        auto engine = makeEngine(std::move(storage));
        crdt::LwwMap *todos = engine->registerLwwMap("todos");
        QVERIFY(todos->get("ghost"));
        QVERIFY(connectEngine(*engine));

        const auto init = m_server->take("SYNC_INIT");
        QVERIFY(init);
        QCOMPARE(init->value(QStringLiteral("lastSyncTimestamp")).toInteger(), monthAgo);
        m_server->send(protocol::SyncResetRequiredMessage { "todos", "too old", {} }.toCbor());
        const auto again = m_server->take("SYNC_INIT");
        QVERIFY(again);
        QCOMPARE(again->value(QStringLiteral("lastSyncTimestamp")).toInteger(), 0);
        QVERIFY(!todos->contains("ghost"));
        QVERIFY(engine->storage().lwwRecords("todos").isEmpty());
    }

    void authTimeoutReconnects()
    {
        m_server->sendAuthRequired = false;
        auto engine = makeEngine();
        engine->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_server->connections() >= 2, 5000);
        QVERIFY(!m_server->has("AUTH"));
    }

    void missingPongDropsTheLink()
    {
        auto engine = makeEngine();
        QVERIFY(connectEngine(*engine));
        QVERIFY(m_server->take("PING", 1000));
        // Nobody answers: after the heartbeat timeout the engine gives up on this link.
        QTRY_VERIFY_WITH_TIMEOUT(m_server->connections() >= 2, 5000);
    }

    void pongsKeepTheLinkUp()
    {
        auto engine = makeEngine();
        QVERIFY(connectEngine(*engine));
        QElapsedTimer elapsed;
        elapsed.start();
        while (elapsed.elapsed() < 2500) {
            if (m_server->take("PING", 200))
                m_server->send(protocol::PongMessage { crdt::Hlc::systemMillis() }.toCbor());
        }
        QCOMPARE(m_server->connections(), 1);
        QCOMPARE(engine->state(), State::Connected);
    }

    void serverCloseLeadsToBackoffAndBack()
    {
        auto engine = makeEngine();
        engine->put("nowhere", "k", 1); // not registered: nothing logged
        QCOMPARE(engine->pendingOpCount(), 0);
        engine->registerLwwMap("todos");
        QVERIFY(connectEngine(*engine));
        QSignalSpy states(engine.get(), &SyncEngine::stateChanged);
        m_server->current()->close(QWebSocketProtocol::CloseCodeGoingAway, "bye");
        QTRY_VERIFY(m_server->connections() == 2);
        QVERIFY(m_server->acceptAuth());
        QTRY_COMPARE(engine->state(), State::Syncing);
        QCOMPARE(states.first().first().value<State>(), State::Backoff);
        QVERIFY(m_server->take("SYNC_INIT")); // sync again on the new link
    }

    void authFailStopsUntilANewToken()
    {
        auto engine = makeEngine();
        QSignalSpy errors(engine.get(), &SyncEngine::error);
        engine->start();
        QVERIFY(m_server->take("AUTH"));
        m_server->send(protocol::AuthFailMessage { "bad token", {} }.toCbor());
        QTRY_COMPARE(engine->state(), State::Error);
        QCOMPARE(errors.count(), 1);
        QSignalSpy connections(&m_server->server(), &QWebSocketServer::newConnection);
        QVERIFY(!connections.wait(300)); // no reconnect with the same token

        engine->setAuthToken(kToken);
        QTRY_COMPARE(m_server->connections(), 2);
        QVERIFY(m_server->acceptAuth());
        QTRY_COMPARE(engine->state(), State::Connected);
    }

    void waitsForATokenWithoutTimingOut()
    {
        auto engine = std::make_unique<SyncEngine>(fastConfig(m_server->url()));
        engine->start();
        QTRY_COMPARE(engine->state(), State::Authenticating);
        QSignalSpy connections(&m_server->server(), &QWebSocketServer::newConnection);
        QVERIFY(!connections.wait(1500)); // longer than the auth timeout
        QVERIFY(!m_server->has("AUTH"));
        engine->setAuthToken(kToken);
        QVERIFY(m_server->acceptAuth());
        QTRY_COMPARE(engine->state(), State::Connected);
    }

    void reconnectAttemptsRunOut()
    {
        SyncEngineConfig config = fastConfig(QUrl("ws://127.0.0.1:1/"));
        config.maxReconnectAttempts = 2;
        SyncEngine engine(config);
        QSignalSpy errors(&engine, &SyncEngine::error);
        engine.start();
        QTRY_COMPARE_WITH_TIMEOUT(engine.state(), State::Disconnected, 5000);
        QCOMPARE(errors.count(), 1);
    }

    void queriesSubscribeAndFollowUpdates()
    {
        auto engine = makeEngine();
        engine->registerLwwMap("todos");
        QueryHandle *handle = engine->subscribeQuery("todos");
        QSignalSpy changes(handle, &QueryHandle::resultChanged);
        QVERIFY(connectEngine(*engine));

        const auto sub = m_server->take("QUERY_SUB");
        QVERIFY(sub);
        const QString queryId = payloadOf(*sub).value(QStringLiteral("queryId")).toString();
        QCOMPARE(queryId, handle->queryId());
        QCOMPARE(
            payloadOf(*sub).value(QStringLiteral("mapName")).toString(), QStringLiteral("todos"));

        protocol::QueryRespMessage response;
        response.queryId = queryId;
        response.results = { { "b", 2 }, { "a", 1 } };
        m_server->send(response.toCbor());
        QTRY_VERIFY(handle->hasResults());
        QCOMPARE(handle->results().size(), 2);
        QCOMPARE(handle->results().first().key, QStringLiteral("a"));

        const QList<protocol::QueryChange> sequence { protocol::QueryChange::Enter,
            protocol::QueryChange::Update, protocol::QueryChange::Remove };
        for (protocol::QueryChange change : sequence) {
            protocol::QueryUpdateMessage update;
            update.queryId = queryId;
            update.key = "c";
            update.value = change == protocol::QueryChange::Remove ? QCborValue() : QCborValue(3);
            update.change = change;
            m_server->send(update.toCbor());
        }
        QTRY_COMPARE(changes.count(), 3);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(changes.at(i).at(2).value<protocol::QueryChange>(), sequence.at(i));
        QVERIFY(!handle->value("c"));

        // A new connection subscribes again.
        m_server->current()->close();
        QTRY_COMPARE(m_server->connections(), 2);
        QVERIFY(m_server->acceptAuth());
        const auto again = m_server->take("QUERY_SUB");
        QVERIFY(again);
        QCOMPARE(payloadOf(*again).value(QStringLiteral("queryId")).toString(), queryId);

        QPointer<QueryHandle> guard(handle);
        handle->unsubscribe();
        const auto unsub = m_server->take("QUERY_UNSUB");
        QVERIFY(unsub);
        QCOMPARE(payloadOf(*unsub).value(QStringLiteral("queryId")).toString(), queryId);
        QTRY_VERIFY(!guard);
    }

    void deletedHandleUnsubscribes()
    {
        auto engine = makeEngine();
        QueryHandle *handle = engine->subscribeQuery("todos");
        const QString queryId = handle->queryId();
        QVERIFY(connectEngine(*engine));
        QVERIFY(m_server->take("QUERY_SUB"));
        delete handle;
        const auto unsub = m_server->take("QUERY_UNSUB");
        QVERIFY(unsub);
        QCOMPARE(payloadOf(*unsub).value(QStringLiteral("queryId")).toString(), queryId);
        // Not subscribed again on the next connection.
        m_server->current()->close();
        m_server->clearInbox();
        QTRY_COMPARE(m_server->connections(), 2);
        QVERIFY(m_server->acceptAuth());
        QTRY_COMPARE(engine->state(), State::Connected);
        // A QUERY_SUB would have been sent before the first PING of the connection.
        QVERIFY(m_server->take("PING", 1000));
        QVERIFY(!m_server->has("QUERY_SUB"));
    }

    void orMapSyncInitCarriesHashes()
    {
        auto engine = makeEngine();
        engine->registerOrMap("tags");
        engine->orAdd("tags", "post", "red");
        QVERIFY(connectEngine(*engine));
        const auto init = m_server->take("ORMAP_SYNC_INIT");
        QVERIFY(init);
        const auto decoded = protocol::OrMapSyncInitMessage::fromCbor(*init);
        QVERIFY(decoded);
        QCOMPARE(decoded->rootHash, engine->orMap("tags")->merkleTree().rootHash());
        QCOMPARE(decoded->bucketHashes, engine->orMap("tags")->merkleTree().buckets(u""));
        const auto batch = m_server->take("OP_BATCH");
        QVERIFY(batch);
        const auto op = protocol::OpBatchMessage::fromCbor(*batch)->ops.first();
        QCOMPARE(op.opType, protocol::OpType::OrAdd);
        QCOMPARE(op.orRecord->value, QCborValue("red"));

        // The server holds nothing: the client pushes its entries.
        m_server->send(protocol::OrMapSyncRespRootMessage { "tags", 0,
            crdt::Timestamp { crdt::Hlc::systemMillis(), 0, "server" },
            {} }.toCbor());
        const auto push = m_server->take("ORMAP_PUSH_DIFF");
        QVERIFY(push);
        const auto entries = protocol::OrMapPushDiffMessage::fromCbor(*push)->entries;
        QCOMPARE(entries.size(), 1);
        QCOMPARE(entries.first().key, QStringLiteral("post"));

        const QStringList tags = engine->orRemove("tags", "post", "red");
        QCOMPARE(tags.size(), 1);
        const auto removal = m_server->take("OP_BATCH");
        QVERIFY(removal);
        const auto removeOp = protocol::OpBatchMessage::fromCbor(*removal)->ops.first();
        QCOMPARE(removeOp.opType, protocol::OpType::OrRemove);
        QCOMPARE(removeOp.orTag, tags.first());
    }

    void closeStopsReconnecting()
    {
        auto engine = makeEngine();
        QVERIFY(connectEngine(*engine));
        engine->close();
        QCOMPARE(engine->state(), State::Disconnected);
        QSignalSpy connections(&m_server->server(), &QWebSocketServer::newConnection);
        QVERIFY(!connections.wait(300));
        engine->start();
        QTRY_COMPARE(m_server->connections(), 2);
    }
};

QTEST_GUILESS_MAIN(tst_SyncEngineProtocol)
#include "tst_syncengineprotocol.moc"

// Garbage collection and TTL expiry (docs/server.md "GC and TTL") on an in-process node whose clock
// the test moves.
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "client/SqliteClientStorage.h"
#include "client/SyncEngine.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <limits>

using namespace wingman;
using namespace wingman::test;

namespace {

constexpr qint64 kDayMs = 24LL * 60 * 60 * 1000;
const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { kType, QStringLiteral("OP_BATCH") },
        { kPayload, QCborMap { { QStringLiteral("ops"), ops } } } };
}

QCborMap lwwOp(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis, std::optional<qint64> ttlMs = std::nullopt, int counter = 0)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, counter, QStringLiteral("client-a") }, ttlMs };
    return op.toCbor();
}

crdt::OrRecord orRecord(const QCborValue &value, qint64 millis, std::optional<qint64> ttlMs)
{
    const crdt::Timestamp timestamp { millis, 0, QStringLiteral("client-a") };
    return crdt::OrRecord { value, timestamp, timestamp.toString(), ttlMs };
}

QCborMap orAddOp(
    const QString &id, const QString &map, const QString &key, const crdt::OrRecord &record)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::OrAdd;
    op.orRecord = record;
    return op.toCbor();
}

QCborMap syncInit(const QString &map)
{
    return QCborMap { { kType, QStringLiteral("SYNC_INIT") }, { QStringLiteral("mapName"), map } };
}

QCborMap querySub(const QString &queryId, const QString &map, const QCborMap &query)
{
    return QCborMap { { kType, QStringLiteral("QUERY_SUB") },
        { kPayload,
            QCborMap { { QStringLiteral("queryId"), queryId }, { QStringLiteral("mapName"), map },
                { QStringLiteral("query"), query } } } };
}

QCborMap adults()
{
    return QCborMap { { QStringLiteral("predicate"),
        QCborMap { { QStringLiteral("op"), QStringLiteral("gte") },
            { QStringLiteral("attribute"), QStringLiteral("age") },
            { QStringLiteral("value"), 18 } } } };
}

QCborMap person(const QString &name, int age)
{
    return QCborMap { { QStringLiteral("name"), name }, { QStringLiteral("age"), age } };
}

QCborMap payloadOf(const std::optional<QCborMap> &message)
{
    return message ? message->value(kPayload).toMap() : QCborMap();
}

// Everything the server sent before this returns has arrived: PONG comes after it.
bool drain(RawClient &client)
{
    client.send(QCborMap { { kType, QStringLiteral("PING") } });
    return client.take(QStringLiteral("PONG")).has_value();
}

QStringList keysOf(const crdt::LwwMap &map)
{
    QStringList keys = map.keys();
    keys.sort();
    return keys;
}

} // namespace

class tst_Gc : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    qint64 m_now = 0;

    ServerConfig config(const QString &storage = QStringLiteral("memory:"))
    {
        ServerConfig config = testConfig();
        config.storage = storage;
        config.clock = [this] { return m_now; };
        return config;
    }

    void startNode(const ServerConfig &config)
    {
        m_server = startServer(config);
        QVERIFY(m_server);
    }

    std::unique_ptr<RawClient> client(const QString &user = QStringLiteral("user-1"))
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret, user, { "USER" })))
            return nullptr;
        return c;
    }

    // Stops the node and starts another on the same storage.
    void restart(const ServerConfig &config)
    {
        QVERIFY(stopServer(*m_server));
        m_server.reset();
        startNode(config);
    }

private Q_SLOTS:
    void init() { m_now = QDateTime::currentMSecsSinceEpoch(); }

    void cleanup()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void oldTombstoneIsPrunedFromMapTreeAndStorage()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const ServerConfig sqlite = config(QStringLiteral("sqlite:") + dir.filePath("gc.db"));
        startNode(sqlite);
        auto writer = client();
        auto listener = client(QStringLiteral("user-2"));
        QVERIFY(writer && listener);
        listener->send(syncInit(QStringLiteral("notes")));
        QVERIFY(listener->take(QStringLiteral("SYNC_RESP_ROOT")));

        const qint64 start = m_now;
        writer->send(opBatch({ lwwOp("1", "notes", "keep", 1, start) }));
        QVERIFY(writer->takeAck());
        crdt::LwwMap *map = m_server->getMap(QStringLiteral("notes"));
        QVERIFY(map);
        const quint32 rootWithoutDoomed = map->merkleTree().rootHash();
        writer->send(opBatch({ lwwOp("2", "notes", "doomed", 2, start),
            lwwOp("3", "notes", "doomed", QCborValue(QCborValue::Null), start + 1) }));
        QVERIFY(writer->takeAck());
        QVERIFY(map->getRecord(QStringLiteral("doomed"))->isTombstone());
        QVERIFY(map->merkleTree().rootHash() != rootWithoutDoomed);

        m_now = start + 31 * kDayMs;
        // A tombstone younger than the horizon stays.
        writer->send(opBatch(
            { lwwOp("4", "notes", "young", QCborValue(QCborValue::Null), m_now - 10 * kDayMs) }));
        QVERIFY(writer->takeAck());
        const quint32 rootBeforeGc = map->merkleTree().rootHash();

        QSignalSpy notable(m_server.get(), &ServerCoordinator::notableEvent);
        const qint64 horizon = m_now - m_server->config().gcAgeMs;
        const auto result = m_server->performGarbageCollection(horizon);
        QCOMPARE(result.pruned, 1);
        QCOMPARE(result.expired, 0);
        QCOMPARE(result.olderThan.millis, horizon);
        QVERIFY(!map->contains(QStringLiteral("doomed")));
        QCOMPARE(keysOf(*map), (QStringList { "keep", "young" }));
        QVERIFY(map->merkleTree().rootHash() != rootBeforeGc);
        // Without "doomed" and with "young" added, the root is the two remaining items' sum.
        QCOMPARE(map->merkleTree().rootHash(),
            rootWithoutDoomed
                + crdt::MerkleTree::itemHash(
                    u"young", map->getRecord(QStringLiteral("young"))->timestamp));

        const auto prune = listener->take(QStringLiteral("GC_PRUNE"));
        QVERIFY(prune);
        const auto decoded = protocol::GcPruneMessage::fromCbor(*prune);
        QVERIFY(decoded);
        QCOMPARE(decoded->olderThan.millis, horizon);
        QVERIFY(writer->take(QStringLiteral("GC_PRUNE")));
        QTRY_COMPARE(m_server->counters().gcRuns, quint64(1));
        QCOMPARE(m_server->counters().tombstonesPruned, quint64(1));
        QCOMPARE(m_server->counters().ttlExpired, quint64(0));
        QTRY_VERIFY(!notable.isEmpty());
        QCOMPARE(notable.first().at(0).toString(), QStringLiteral("gc"));
        QVERIFY(notable.first().at(1).toString().contains(QStringLiteral("pruned 1")));

        const quint32 rootAfterGc = map->merkleTree().rootHash();
        writer.reset();
        listener.reset();
        restart(sqlite);
        if (QTest::currentTestFailed())
            return;
        crdt::LwwMap *reloaded = m_server->getMap(QStringLiteral("notes"));
        QVERIFY(reloaded);
        QVERIFY(!reloaded->contains(QStringLiteral("doomed")));
        QCOMPARE(keysOf(*reloaded), (QStringList { "keep", "young" }));
        QCOMPARE(reloaded->get(QStringLiteral("keep")), std::optional<QCborValue>(1));
        QCOMPARE(reloaded->merkleTree().rootHash(), rootAfterGc);
    }

    void staleClientResetsAfterGcPrunedWhatItMissed()
    {
        startNode(config());
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString clientDb = dir.filePath(QStringLiteral("sleeper.db"));
        const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(m_server->port()));
        const auto engine = [&](const QString &nodeId,
                                std::unique_ptr<client::ClientStorage> storage) {
            client::SyncEngineConfig engineConfig;
            engineConfig.url = url;
            engineConfig.nodeId = nodeId;
            engineConfig.reconnectBaseMs = 50;
            engineConfig.reconnectMaxMs = 500;
            engineConfig.clock = [this] { return m_now; };
            auto result = std::make_unique<client::SyncEngine>(engineConfig, std::move(storage));
            result->setAuthToken(
                QString::fromLatin1(TestTokens::userToken(kTestSecret, nodeId, { "USER" })));
            return result;
        };

        auto source = engine(QStringLiteral("source"), {});
        source->registerLwwMap(QStringLiteral("catalog"));
        for (int i = 0; i < 5; ++i)
            source->put(QStringLiteral("catalog"), QStringLiteral("item-%1").arg(i), i);
        source->put(QStringLiteral("catalog"), QStringLiteral("ghost"), QStringLiteral("boo"));
        source->start();
        QTRY_COMPARE(source->pendingOpCount(), 0);

        {
            auto sleeper = engine(
                QStringLiteral("sleeper"), std::make_unique<client::SqliteClientStorage>(clientDb));
            sleeper->registerLwwMap(QStringLiteral("catalog"));
            sleeper->start();
            QTRY_VERIFY(sleeper->isSynced(QStringLiteral("catalog")));
            QCOMPARE(sleeper->lwwMap(QStringLiteral("catalog"))->get(QStringLiteral("ghost")),
                std::optional<QCborValue>(QStringLiteral("boo")));
            QVERIFY(sleeper->storage().lastSyncTimestamp(QStringLiteral("catalog")) >= m_now);
        }

        // While the sleeper is away the ghost is deleted; 32 days later GC forgets the tombstone.
        source->remove(QStringLiteral("catalog"), QStringLiteral("ghost"));
        QTRY_COMPARE(source->pendingOpCount(), 0);
        source->close();
        m_now += 32 * kDayMs;
        const auto result = m_server->performGarbageCollection(m_now - m_server->config().gcAgeMs);
        QCOMPARE(result.pruned, 1);
        crdt::LwwMap *serverMap = m_server->getMap(QStringLiteral("catalog"));
        QVERIFY(!serverMap->contains(QStringLiteral("ghost")));

        auto sleeper = engine(
            QStringLiteral("sleeper"), std::make_unique<client::SqliteClientStorage>(clientDb));
        sleeper->registerLwwMap(QStringLiteral("catalog"));
        QCOMPARE(sleeper->lwwMap(QStringLiteral("catalog"))->get(QStringLiteral("ghost")),
            std::optional<QCborValue>(QStringLiteral("boo")));
        QSignalSpy changed(sleeper.get(), &client::SyncEngine::mapChanged);
        sleeper->start();
        QTRY_VERIFY_WITH_TIMEOUT(sleeper->isSynced(QStringLiteral("catalog")), 10000);

        crdt::LwwMap *rebuilt = sleeper->lwwMap(QStringLiteral("catalog"));
        QVERIFY(!rebuilt->contains(QStringLiteral("ghost")));
        QCOMPARE(rebuilt->size(), 5);
        for (int i = 0; i < 5; ++i)
            QCOMPARE(rebuilt->get(QStringLiteral("item-%1").arg(i)), std::optional<QCborValue>(i));
        QCOMPARE(rebuilt->merkleTree().rootHash(), serverMap->merkleTree().rootHash());
        QVERIFY(sleeper->storage().lastSyncTimestamp(QStringLiteral("catalog")) >= m_now);
        QVERIFY(!sleeper->storage()
                     .lwwRecords(QStringLiteral("catalog"))
                     .contains(QStringLiteral("ghost")));
        QVERIFY(std::any_of(changed.begin(), changed.end(), [](const QList<QVariant> &args) {
            return args.at(1).toString() == QStringLiteral("ghost");
        }));
    }

    void ttlRecordExpiresIntoTombstoneAtItsExpiry()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const ServerConfig sqlite = config(QStringLiteral("sqlite:") + dir.filePath("ttl.db"));
        startNode(sqlite);
        auto writer = client();
        auto listener = client(QStringLiteral("user-2"));
        QVERIFY(writer && listener);
        listener->send(syncInit(QStringLiteral("sessions")));
        QVERIFY(listener->take(QStringLiteral("SYNC_RESP_ROOT")));

        const qint64 start = m_now;
        writer->send(
            opBatch({ lwwOp("1", "sessions", "s1", QStringLiteral("token"), start, 60000, 2),
                lwwOp("2", "sessions", "s2", QStringLiteral("long"), start, 3600000) }));
        QVERIFY(writer->takeAck());
        QVERIFY(listener->take(QStringLiteral("SERVER_BATCH_EVENT")));
        crdt::LwwMap *map = m_server->getMap(QStringLiteral("sessions"));
        QVERIFY(map);

        m_now = start + 60000; // start + ttl == now: still live
        QCOMPARE(m_server->performGarbageCollection(m_now - kDayMs).expired, 0);
        QCOMPARE(
            map->get(QStringLiteral("s1")), std::optional<QCborValue>(QStringLiteral("token")));

        m_now = start + 60001;
        QCOMPARE(map->get(QStringLiteral("s1")), std::nullopt); // expired reads as absent at once
        const auto result = m_server->performGarbageCollection(m_now - kDayMs);
        QCOMPARE(result.expired, 1);
        QCOMPARE(result.pruned, 0);

        const crdt::LwwRecord expected { QCborValue(QCborValue::Null),
            crdt::Timestamp { start + 60000, 0, m_server->nodeId() }, std::nullopt };
        QCOMPARE(map->getRecord(QStringLiteral("s1")), std::optional(expected));
        QCOMPARE(map->get(QStringLiteral("s2")), std::optional<QCborValue>(QStringLiteral("long")));

        const auto event = listener->take(QStringLiteral("SERVER_EVENT"));
        QVERIFY(event);
        QCOMPARE(payloadOf(event).value(QStringLiteral("eventType")).toString(),
            QStringLiteral("UPDATED"));
        const auto decoded = protocol::ServerEventMessage::fromCbor(*event);
        QVERIFY(decoded);
        QCOMPARE(decoded->event.mapName, QStringLiteral("sessions"));
        QCOMPARE(decoded->event.key, QStringLiteral("s1"));
        QCOMPARE(decoded->event.record, std::optional(expected));
        QVERIFY(listener->take(QStringLiteral("GC_PRUNE")));
        QTRY_COMPARE(m_server->counters().ttlExpired, quint64(1));

        // A second run has nothing left to expire and sends no event.
        QCOMPARE(m_server->performGarbageCollection(m_now - kDayMs).expired, 0);
        QVERIFY(listener->take(QStringLiteral("GC_PRUNE")));
        QVERIFY(drain(*listener));
        QVERIFY(!listener->has(QStringLiteral("SERVER_EVENT")));
        QVERIFY(!listener->has(QStringLiteral("SERVER_BATCH_EVENT")));

        // The tombstone is what storage holds: it survives a restart as is.
        writer.reset();
        listener.reset();
        restart(sqlite);
        if (QTest::currentTestFailed())
            return;
        crdt::LwwMap *reloaded = m_server->getMap(QStringLiteral("sessions"));
        QVERIFY(reloaded);
        QCOMPARE(reloaded->getRecord(QStringLiteral("s1")), std::optional(expected));
        QCOMPARE(reloaded->getRecord(QStringLiteral("s2"))->ttlMs, std::optional<qint64>(3600000));
    }

    void ttlExpiryLeavesLiveQueries()
    {
        startNode(config());
        auto writer = client();
        auto watcher = client(QStringLiteral("user-2"));
        QVERIFY(writer && watcher);
        const qint64 start = m_now;
        writer->send(opBatch({ lwwOp("1", "people", "ann", person("Ann", 30), start, 1000),
            lwwOp("2", "people", "bob", person("Bob", 40), start) }));
        QVERIFY(writer->takeAck());

        watcher->send(querySub(QStringLiteral("q1"), QStringLiteral("people"), adults()));
        QCOMPARE(payloadOf(watcher->take(QStringLiteral("QUERY_RESP")))
                     .value(QStringLiteral("results"))
                     .toArray()
                     .size(),
            2);

        m_now = start + 1001;
        // Expired but not yet collected: a new query does not see it.
        auto late = client(QStringLiteral("user-3"));
        QVERIFY(late);
        late->send(querySub(QStringLiteral("q2"), QStringLiteral("people"), adults()));
        const QCborArray lateResults = payloadOf(late->take(QStringLiteral("QUERY_RESP")))
                                           .value(QStringLiteral("results"))
                                           .toArray();
        QCOMPARE(lateResults.size(), 1);
        QCOMPARE(lateResults.at(0).toMap().value(QStringLiteral("key")).toString(),
            QStringLiteral("bob"));

        QCOMPARE(m_server->performGarbageCollection(m_now - kDayMs).expired, 1);
        const QCborMap update = payloadOf(watcher->take(QStringLiteral("QUERY_UPDATE")));
        QCOMPARE(update.value(QStringLiteral("queryId")).toString(), QStringLiteral("q1"));
        QCOMPARE(update.value(QStringLiteral("key")).toString(), QStringLiteral("ann"));
        QCOMPARE(update.value(QStringLiteral("type")).toString(), QStringLiteral("REMOVE"));
        QVERIFY(drain(*watcher));
        QVERIFY(!watcher->has(QStringLiteral("QUERY_UPDATE")));
        QVERIFY(drain(*late));
        QVERIFY(!late->has(QStringLiteral("QUERY_UPDATE")));
    }

    void orMapTtlExpiryTombstonesTheTag()
    {
        startNode(config());
        auto writer = client();
        auto listener = client(QStringLiteral("user-2"));
        QVERIFY(writer && listener);
        listener->send(QCborMap { { kType, QStringLiteral("ORMAP_SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("rootHash"), 0 }, { QStringLiteral("bucketHashes"), QCborMap() } });
        QVERIFY(listener->take(QStringLiteral("ORMAP_SYNC_RESP_ROOT")));

        const qint64 start = m_now;
        const crdt::OrRecord red = orRecord(QStringLiteral("red"), start, 1000);
        const crdt::OrRecord blue = orRecord(QStringLiteral("blue"), start + 1, std::nullopt);
        writer->send(
            opBatch({ orAddOp("1", "tags", "post", red), orAddOp("2", "tags", "post", blue) }));
        QVERIFY(writer->takeAck());
        QVERIFY(listener->take(QStringLiteral("SERVER_BATCH_EVENT")));
        crdt::OrMap *map = m_server->getOrMap(QStringLiteral("tags"));
        QVERIFY(map);

        m_now = start + 1001;
        const auto result = m_server->performGarbageCollection(m_now - kDayMs);
        QCOMPARE(result.expired, 1);
        QVERIFY(map->isTombstoned(red.tag));
        QCOMPARE(map->records(QStringLiteral("post")), QList<crdt::OrRecord> { blue });
        QCOMPARE(map->get(QStringLiteral("post")), QList<QCborValue> { QStringLiteral("blue") });

        const auto event = listener->take(QStringLiteral("SERVER_EVENT"));
        QVERIFY(event);
        const auto decoded = protocol::ServerEventMessage::fromCbor(*event);
        QVERIFY(decoded);
        QCOMPARE(decoded->event.eventType, protocol::ServerEventType::OrRemove);
        QCOMPARE(decoded->event.key, QStringLiteral("post"));
        QCOMPARE(decoded->event.orTag, std::optional(red.tag));

        // The tombstone ages by its tag, the record's own timestamp.
        m_now = start + 31 * kDayMs;
        const auto later = m_server->performGarbageCollection(m_now - m_server->config().gcAgeMs);
        QCOMPARE(later.pruned, 1);
        QCOMPARE(later.expired, 0);
        QVERIFY(map->tombstones().isEmpty());
        QCOMPARE(map->get(QStringLiteral("post")), QList<QCborValue> { QStringLiteral("blue") });
        QTRY_COMPARE(m_server->counters().tombstonesPruned, quint64(1));
        QCOMPARE(m_server->counters().ttlExpired, quint64(1));
    }

    void timerRunsGarbageCollection()
    {
        ServerConfig fast = config();
        fast.gcIntervalMs = 20;
        startNode(fast);
        auto writer = client();
        QVERIFY(writer);
        const qint64 start = m_now;
        writer->send(opBatch({ lwwOp("1", "notes", "gone", QCborValue(QCborValue::Null), start),
            lwwOp("2", "notes", "brief", 1, start, 500) }));
        QVERIFY(writer->takeAck());
        crdt::LwwMap *map = m_server->getMap(QStringLiteral("notes"));
        QVERIFY(map);

        m_now = start + 501;
        QTRY_VERIFY(map->getRecord(QStringLiteral("brief"))->isTombstone());
        QVERIFY(map->contains(QStringLiteral("gone")));
        QVERIFY(writer->take(QStringLiteral("GC_PRUNE")));

        const quint64 runs = m_server->counters().gcRuns;
        m_now = start + 31 * kDayMs;
        QTRY_VERIFY(map->isEmpty());
        QVERIFY(m_server->counters().gcRuns > runs);
        QTRY_COMPARE(m_server->counters().tombstonesPruned, quint64(2));
        QCOMPARE(m_server->counters().ttlExpired, quint64(1));
    }

    void horizonBeyondTheClockKeepsLiveRecords_data()
    {
        QTest::addColumn<qint64>("offset");
        QTest::newRow("a year ahead") << 365 * kDayMs;
        QTest::newRow("end of time") << std::numeric_limits<qint64>::max() / 2;
    }

    void horizonBeyondTheClockKeepsLiveRecords()
    {
        QFETCH(qint64, offset);
        startNode(config());
        auto writer = client();
        QVERIFY(writer);
        writer->send(opBatch({ lwwOp("1", "notes", "live", 1, m_now - 1000),
            lwwOp("2", "notes", "ttl", 2, m_now - 1000, 3600000),
            lwwOp("3", "notes", "removed", QCborValue(QCborValue::Null), m_now) }));
        QVERIFY(writer->takeAck());
        crdt::LwwMap *map = m_server->getMap(QStringLiteral("notes"));
        QVERIFY(map);
        const quint32 root = map->merkleTree().rootHash();

        const auto result = m_server->performGarbageCollection(m_now + offset);
        QCOMPARE(result.olderThan.millis, m_now);
        QCOMPARE(result.pruned, 0);
        QCOMPARE(result.expired, 0);
        QCOMPARE(map->get(QStringLiteral("live")), std::optional<QCborValue>(1));
        QCOMPARE(map->get(QStringLiteral("ttl")), std::optional<QCborValue>(2));
        QVERIFY(map->contains(QStringLiteral("removed")));
        QCOMPARE(map->merkleTree().rootHash(), root);
        const auto prune = protocol::GcPruneMessage::fromCbor(
            writer->take(QStringLiteral("GC_PRUNE")).value_or(QCborMap()));
        QVERIFY(prune);
        QCOMPARE(prune->olderThan.millis, m_now);
    }
};

QTEST_GUILESS_MAIN(tst_Gc)
#include "tst_gc.moc"

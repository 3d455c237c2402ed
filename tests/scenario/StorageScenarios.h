#pragma once

// Durability scenarios shared by tst_storage (SQLite) and tst_storage_postgres: each takes the
// `storage` option to run against. They report through QTest macros, so the caller checks
// QTest::currentTestFailed() when it has more to do.

#include "RawClient.h"
#include "ServerFactory.h"
#include "ServerProcess.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QRandomGenerator>
#include <QSet>
#include <QSignalSpy>
#include <QTest>

namespace wingman::test::storage_scenarios {

inline QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { QStringLiteral("type"), QStringLiteral("OP_BATCH") },
        { QStringLiteral("payload"), QCborMap { { QStringLiteral("ops"), ops } } } };
}

inline QCborMap lwwOp(int id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis, std::optional<qint64> ttlMs = std::nullopt)
{
    protocol::ClientOp op;
    op.id = QString::number(id);
    op.mapName = map;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, QStringLiteral("client-a") }, ttlMs };
    return op.toCbor();
}

inline crdt::OrRecord orRecord(const QCborValue &value, qint64 millis)
{
    const crdt::Timestamp timestamp { millis, 0, QStringLiteral("client-a") };
    return crdt::OrRecord { value, timestamp, timestamp.toString(), std::nullopt };
}

inline QCborMap orAddOp(
    int id, const QString &map, const QString &key, const crdt::OrRecord &record)
{
    protocol::ClientOp op;
    op.id = QString::number(id);
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::OrAdd;
    op.orRecord = record;
    return op.toCbor();
}

inline QCborMap orRemoveOp(int id, const QString &map, const QString &key, const QString &tag)
{
    protocol::ClientOp op;
    op.id = QString::number(id);
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::OrRemove;
    op.orTag = tag;
    return op.toCbor();
}

// Every record of an LWW map, tombstones and TTL included.
inline QHash<QString, crdt::LwwRecord> lwwContents(const crdt::LwwMap &map)
{
    QHash<QString, crdt::LwwRecord> records;
    map.forEach(
        [&](const QString &key, const crdt::LwwRecord &record) { records.insert(key, record); });
    return records;
}

inline QHash<QString, QList<crdt::OrRecord>> orContents(const crdt::OrMap &map)
{
    QHash<QString, QList<crdt::OrRecord>> records;
    const QStringList keys = map.keys();
    for (const QString &key : keys)
        records.insert(key, map.records(key));
    return records;
}

// Every acknowledged PUT, as QUERY_SUB {query: {}} returns them: key -> value.
inline QHash<QString, QCborValue> queryAll(RawClient &client, const QString &map)
{
    client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("QUERY_SUB") },
        { QStringLiteral("payload"),
            QCborMap { { QStringLiteral("queryId"), QStringLiteral("all") },
                { QStringLiteral("mapName"), map }, { QStringLiteral("query"), QCborMap() } } } });
    QHash<QString, QCborValue> values;
    const auto response = client.take(QStringLiteral("QUERY_RESP"), 20000);
    if (!response)
        return values;
    const QCborArray results = response->value(QStringLiteral("payload"))
                                   .toMap()
                                   .value(QStringLiteral("results"))
                                   .toArray();
    for (const QCborValue &result : results) {
        const QCborMap entry = result.toMap();
        values.insert(
            entry.value(QStringLiteral("key")).toString(), entry.value(QStringLiteral("value")));
    }
    return values;
}

// Writes LWW records (a tombstone and TTL records among them) and OR records with a removal
// through a client, stops the node, starts a new one on the same storage and expects the same
// maps: records, tombstones, TTLs, Merkle roots and the node's id.
inline void restartKeepsEverything(const QString &storage)
{
    ServerConfig config = testConfig();
    config.storage = storage;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const crdt::OrRecord red = orRecord(QStringLiteral("red"), now);
    const crdt::OrRecord blue = orRecord(QStringLiteral("blue"), now + 1);
    const crdt::OrRecord green = orRecord(QStringLiteral("green"), now + 2);

    QHash<QString, crdt::LwwRecord> people;
    QHash<QString, QList<crdt::OrRecord>> tags;
    QStringList tombstones;
    quint32 peopleRoot = 0;
    quint32 tagsRoot = 0;
    QString nodeId;
    {
        auto server = startServer(config, 20000);
        QVERIFY(server);
        nodeId = server->nodeId();
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(server->port(), TestTokens::userToken(kTestSecret)));
        const QCborMap ann { { QStringLiteral("name"), QStringLiteral("Ann") },
            { QStringLiteral("age"), 30 } };
        client.send(opBatch({ lwwOp(1, "people", "ann", ann, now),
            lwwOp(2, "people", "bob", QStringLiteral("Bob"), now),
            lwwOp(3, "people", "ttl", QStringLiteral("for an hour"), now, 3600000),
            lwwOp(4, "people", "expired", QStringLiteral("gone"), now - 10000, 5),
            orAddOp(5, "tags", "colors", red), orAddOp(6, "tags", "colors", blue),
            orAddOp(7, "tags", "other", green) }));
        QVERIFY(client.takeAck(10000));
        client.send(opBatch({ lwwOp(8, "people", "bob", QCborValue(QCborValue::Null), now + 5),
            orRemoveOp(9, "tags", "colors", red.tag) }));
        QVERIFY(client.takeAck(10000));

        QVERIFY(server->getMap("people") && server->getOrMap("tags"));
        people = lwwContents(*server->getMap("people"));
        tags = orContents(*server->getOrMap("tags"));
        tombstones = server->getOrMap("tags")->tombstones();
        peopleRoot = server->getMap("people")->merkleTree().rootHash();
        tagsRoot = server->getOrMap("tags")->merkleTree().rootHash();
        QCOMPARE(people.size(), 4);
        QVERIFY(people.value("bob").isTombstone());
        QCOMPARE(tombstones, QStringList { red.tag });
        client.close();
        QVERIFY(stopServer(*server));
    }

    auto server = startServer(config, 20000);
    QVERIFY(server);
    QCOMPARE(server->nodeId(), nodeId);
    const crdt::LwwMap *loadedPeople = server->getMap("people");
    const crdt::OrMap *loadedTags = server->getOrMap("tags");
    QVERIFY(loadedPeople && loadedTags);
    QCOMPARE(lwwContents(*loadedPeople), people);
    QCOMPARE(loadedPeople->getRecord("ttl")->ttlMs, std::optional<qint64>(3600000));
    QCOMPARE(orContents(*loadedTags), tags);
    QCOMPARE(loadedTags->tombstones(), tombstones);
    QCOMPARE(loadedPeople->merkleTree().rootHash(), peopleRoot);
    QCOMPARE(loadedTags->merkleTree().rootHash(), tagsRoot);

    // And a client reads what it wrote: live records only.
    RawClient reader;
    QVERIFY(reader.connectAndAuthenticate(server->port(), TestTokens::userToken(kTestSecret)));
    const QHash<QString, QCborValue> values = queryAll(reader, QStringLiteral("people"));
    QCOMPARE(QSet<QString>(values.keyBegin(), values.keyEnd()), (QSet<QString> { "ann", "ttl" }));
    QCOMPARE(values.value("ann").toMap().value(QStringLiteral("age")).toInteger(), 30);
    reader.close();
    QVERIFY(stopServer(*server));
}

// Starts wingman-server on storage, writes 5,000 PUTs in pipelined OP_BATCHes, SIGKILLs it at a
// seeded random point with batches in flight, restarts it on the same storage and checks that
// every acknowledged op is there.
inline void crashKeepsAcknowledgedOps(const QString &storage, quint32 seed)
{
    constexpr int kOps = 5000;
    constexpr int kBatch = 50;
    constexpr int kWindow = 4;
    QRandomGenerator random(seed);
    const int killAfterAcks = random.bounded(kOps / 10, kOps - kBatch * kWindow);
    qInfo("seed %u: SIGKILL once %d ops are acknowledged", seed, killAfterAcks);

    const qint64 base = QDateTime::currentMSecsSinceEpoch();
    const auto valueOf = [](int i) {
        return QCborMap { { QStringLiteral("i"), i },
            { QStringLiteral("pad"), QStringLiteral("payload-%1").arg(i * 7919) } };
    };

    ServerProcess first;
    first.start({ QStringLiteral("--storage"), storage });
    QVERIFY2(first.waitForReady(), qPrintable(first.output()));
    RawClient client;
    QVERIFY(client.connectAndAuthenticate(first.port(), TestTokens::userToken(kTestSecret)));

    QSet<int> acked;
    int nextOp = 0;
    int inFlight = 0;
    while (acked.size() < killAfterAcks) {
        while (inFlight < kWindow && nextOp < kOps) {
            QCborArray ops;
            for (int i = 0; i < kBatch && nextOp < kOps; ++i, ++nextOp) {
                ops.append(lwwOp(nextOp + 1, QStringLiteral("crash"),
                    QStringLiteral("k%1").arg(nextOp), valueOf(nextOp), base + nextOp));
            }
            client.send(opBatch(ops));
            ++inFlight;
        }
        const auto ack = client.takeAck(20000);
        QVERIFY2(ack, qPrintable(first.output()));
        --inFlight;
        const QCborArray results = ack->value(QStringLiteral("payload"))
                                       .toMap()
                                       .value(QStringLiteral("results"))
                                       .toArray();
        for (const QCborValue &result : results) {
            const QCborMap entry = result.toMap();
            QVERIFY(entry.value(QStringLiteral("success")).toBool());
            acked.insert(entry.value(QStringLiteral("opId")).toString().toInt() - 1);
        }
    }
    QVERIFY2(inFlight > 0, "the kill should land with batches in flight");
    first.kill();
    QCOMPARE(first.process().exitStatus(), QProcess::CrashExit);
    client.close();

    ServerProcess second;
    second.start({ QStringLiteral("--storage"), storage });
    QVERIFY2(second.waitForReady(), qPrintable(second.output()));
    RawClient reader;
    QVERIFY(reader.connectAndAuthenticate(second.port(), TestTokens::userToken(kTestSecret)));
    const QHash<QString, QCborValue> values = queryAll(reader, QStringLiteral("crash"));
    QVERIFY2(values.size() >= acked.size(),
        qPrintable(QStringLiteral("%1 records after restart, %2 acknowledged")
                       .arg(values.size())
                       .arg(acked.size())));
    for (int i : std::as_const(acked)) {
        const QString key = QStringLiteral("k%1").arg(i);
        QVERIFY2(
            values.contains(key), qPrintable(QStringLiteral("acknowledged %1 is lost").arg(key)));
        QCOMPARE(values.value(key).toMap(), valueOf(i));
    }
    reader.close();
    QVERIFY(second.terminate());
}

// The seed of a crash run: WINGMAN_TEST_SEED when set (to replay one), else a fresh one.
inline quint32 crashSeed()
{
    bool ok = false;
    const quint32 seed = qEnvironmentVariable("WINGMAN_TEST_SEED").toUInt(&ok);
    return ok ? seed : QRandomGenerator::global()->generate();
}

// Creates a node on config and waits for startupFailed; the reason, or empty (with a test
// failure) if it became ready or hung.
inline QString startupFailure(const ServerConfig &config)
{
    std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
    QSignalSpy ready(server.get(), &ServerCoordinator::ready);
    QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
    if (!QTest::qWaitFor([&] { return !ready.isEmpty() || !failed.isEmpty(); }, 20000)
        || failed.isEmpty()) {
        qWarning("expected a startup failure, got %s", ready.isEmpty() ? "a hang" : "ready()");
        return {};
    }
    return failed.first().first().toString();
}

// A node without --node-id takes the id its storage holds; an explicit id that is not the
// stored one stops startup and leaves the stored id in place; the stored id given explicitly
// starts as usual.
inline void nodeIdIsKeptWithStorage(const QString &storage)
{
    ServerConfig config = testConfig();
    config.storage = storage;
    QString generated;
    {
        auto server = startServer(config, 20000);
        QVERIFY(server);
        generated = server->nodeId();
        QVERIFY(generated.startsWith(QStringLiteral("node-")));
        QVERIFY(stopServer(*server));
    }
    {
        auto server = startServer(config, 20000);
        QVERIFY(server);
        QCOMPARE(server->nodeId(), generated);
        QVERIFY(stopServer(*server));
    }

    ServerConfig other = config;
    other.nodeId = QStringLiteral("someone-else");
    const QString reason = startupFailure(other);
    QVERIFY2(reason.contains(QStringLiteral("nodeId")) && reason.contains(generated)
            && reason.contains(QStringLiteral("someone-else")),
        qPrintable(reason));

    ServerConfig same = config;
    same.nodeId = generated;
    auto server = startServer(same, 20000);
    QVERIFY(server);
    QCOMPARE(server->nodeId(), generated);
    QVERIFY(stopServer(*server));
    auto again = startServer(config, 20000);
    QVERIFY(again);
    QCOMPARE(again->nodeId(), generated);
    QVERIFY(stopServer(*again));
}

} // namespace wingman::test::storage_scenarios

#include "client/ClientMap.h"
#include "client/MemoryClientStorage.h"
#include "protocol/Messages.h"

#include <QTest>

using namespace wingman;
using namespace wingman::client;

namespace {

constexpr qint64 kServerMillis = 1700000500000;

// The server side of Merkle sync as docs/protocol.md describes it, over a server-side map.
class FakeSyncServer
{
public:
    explicit FakeSyncServer(crdt::LwwMap *lww, crdt::OrMap *orMap = nullptr)
        : m_lww(lww)
        , m_or(orMap)
    { }

    const crdt::MerkleTree &tree() const
    {
        if (m_lww)
            return m_lww->merkleTree();
        return m_or->merkleTree();
    }

    // Answers one client message; empty when the server would stay silent.
    QList<QCborMap> answer(const QCborMap &message)
    {
        ++requests;
        const QString type = message.value(QStringLiteral("type")).toString();
        const crdt::Timestamp now { kServerMillis, 0, "server" };
        if (type == "SYNC_INIT")
            return { protocol::SyncRespRootMessage { "m", tree().rootHash(), now, {} }.toCbor() };
        if (type == "ORMAP_SYNC_INIT") {
            return { protocol::OrMapSyncRespRootMessage { "m", tree().rootHash(), now,
                {} }.toCbor() };
        }
        if (type == "MERKLE_REQ_BUCKET" || type == "ORMAP_MERKLE_REQ_BUCKET") {
            const QString path = message.value(QStringLiteral("payload"))
                                     .toMap()
                                     .value(QStringLiteral("path"))
                                     .toString();
            return { bucketAnswer(path) };
        }
        if (type == "ORMAP_PUSH_DIFF") {
            const auto push = protocol::OrMapPushDiffMessage::fromCbor(message);
            for (const protocol::OrMapEntry &entry : push->entries)
                m_or->mergeKey(entry.key, entry.records, entry.tombstones);
            ++pushes;
            return {};
        }
        return {};
    }

    int requests = 0;
    int pushes = 0;

private:
    QCborMap bucketAnswer(const QString &path) const
    {
        if (path.size() < crdt::MerkleTree::kDepth) {
            if (m_lww)
                return protocol::SyncRespBucketsMessage {
                    "m", path, tree().buckets(path), {}
                }.toCbor();
            return protocol::OrMapSyncRespBucketsMessage {
                "m", path, tree().buckets(path), {}
            }.toCbor();
        }
        if (m_lww) {
            protocol::SyncRespLeafMessage leaf { "m", path, {}, {} };
            for (const QString &key : tree().keysInBucket(path))
                leaf.records.append({ key, *m_lww->getRecord(key) });
            return leaf.toCbor();
        }
        protocol::OrMapSyncRespLeafMessage leaf { "m", path, {}, {} };
        for (const QString &key : tree().keysInBucket(path))
            leaf.entries.append({ key, m_or->records(key), m_or->tombstones() });
        return leaf.toCbor();
    }

    crdt::LwwMap *m_lww;
    crdt::OrMap *m_or;
};

// Feeds the client's messages to the server and the answers back until both are quiet.
void runSync(ClientMap &client, FakeSyncServer &server)
{
    QList<QCborMap> toServer { client.syncInit() };
    while (!toServer.isEmpty()) {
        const QCborMap message = toServer.takeFirst();
        for (const QCborMap &reply : server.answer(message)) {
            const QString type = reply.value(QStringLiteral("type")).toString();
            const QCborMap payload = reply.value(QStringLiteral("payload")).toMap();
            if (type == "SYNC_RESP_ROOT") {
                const auto root = protocol::SyncRespRootMessage::fromCbor(reply);
                toServer += client.onSyncRoot(root->rootHash, root->timestamp);
            } else if (type == "ORMAP_SYNC_RESP_ROOT") {
                const auto root = protocol::OrMapSyncRespRootMessage::fromCbor(reply);
                toServer += client.onSyncRoot(root->rootHash, root->timestamp);
            } else if (type == "SYNC_RESP_BUCKETS") {
                const auto buckets = protocol::SyncRespBucketsMessage::fromCbor(reply);
                toServer += client.onSyncBuckets(buckets->path, buckets->buckets);
            } else if (type == "ORMAP_SYNC_RESP_BUCKETS") {
                const auto buckets = protocol::OrMapSyncRespBucketsMessage::fromCbor(reply);
                toServer += client.onSyncBuckets(buckets->path, buckets->buckets);
            } else if (type == "SYNC_RESP_LEAF") {
                const auto leaf = protocol::SyncRespLeafMessage::fromCbor(reply);
                client.onLwwLeaf(leaf->path, leaf->records);
            } else if (type == "ORMAP_SYNC_RESP_LEAF") {
                const auto leaf = protocol::OrMapSyncRespLeafMessage::fromCbor(reply);
                toServer += client.onOrLeaf(leaf->path, leaf->entries);
            }
        }
    }
}

} // namespace

class tst_ClientMap : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void lwwSyncPullsOnlyWhatDiffers()
    {
        crdt::Hlc serverClock("server");
        crdt::LwwMap serverMap(serverClock);
        for (int i = 0; i < 200; ++i)
            serverMap.set(QString("key-%1").arg(i), i);

        crdt::Hlc clientClock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clientClock, storage);
        QStringList changedKeys;
        client.setChangeListener([&](const QString &key) { changedKeys.append(key); });
        // Already holds one record of the server, and a stale version of another.
        client.lwwMap()->merge("key-0", *serverMap.getRecord("key-0"));
        client.lwwMap()->merge(
            "key-1", { "stale", crdt::Timestamp { 1, 0, "server" }, std::nullopt });
        changedKeys.clear();

        FakeSyncServer server(&serverMap);
        runSync(client, server);
        QVERIFY(client.isSynced());
        QCOMPARE(client.lwwMap()->merkleTree().rootHash(), serverMap.merkleTree().rootHash());
        QCOMPARE(client.lwwMap()->get("key-1"), QCborValue(1));
        QCOMPARE(changedKeys.size(), 199);
        QCOMPARE(storage.lwwRecords("m").size(), 200);
        QCOMPARE(client.lastSyncTimestamp(), kServerMillis);
        QCOMPARE(storage.lastSyncTimestamp("m"), kServerMillis);
    }

    void equalRootsFinishAtOnce()
    {
        crdt::Hlc clock("client");
        crdt::LwwMap serverMap(clock);
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clock, storage);
        FakeSyncServer server(&serverMap);
        runSync(client, server);
        QVERIFY(client.isSynced());
        QCOMPARE(server.requests, 1);
    }

    void clientOnlyRecordsDoNotStallTheWalk()
    {
        // The server lacks the client's keys: buckets it does not have (or has emptied) are
        // never requested, since it would not answer them.
        crdt::Hlc serverClock("server");
        crdt::LwwMap serverMap(serverClock);
        serverMap.set("shared", 1);
        crdt::Hlc clientClock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clientClock, storage);
        for (int i = 0; i < 50; ++i)
            client.lwwMap()->set(QString("local-%1").arg(i), i);

        FakeSyncServer server(&serverMap);
        runSync(client, server);
        QVERIFY(client.isSynced());
        QCOMPARE(client.lwwMap()->get("shared"), QCborValue(1));
        QVERIFY(client.lwwMap()->get("local-7"));
    }

    void orSyncMergesBothWays()
    {
        crdt::Hlc serverClock("server");
        crdt::OrMap serverMap(serverClock);
        serverMap.add("both", "from-server");
        serverMap.add("server-only", "s");
        const crdt::OrRecord doomed = serverMap.add("both", "doomed");

        crdt::Hlc clientClock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Or, clientClock, storage);
        client.orMap()->apply("both", doomed);
        client.orMap()->applyTombstone(doomed.tag);
        client.orMap()->add("both", "from-client");
        client.orMap()->add("client-only", "c");

        FakeSyncServer server(nullptr, &serverMap);
        runSync(client, server);
        QVERIFY(client.isSynced());
        QVERIFY(server.pushes > 0);
        QCOMPARE(client.orMap()->merkleTree().rootHash(), serverMap.merkleTree().rootHash());
        QCOMPARE(serverMap.get("client-only"), QList<QCborValue> { "c" });
        QCOMPARE(serverMap.get("both").size(), 2);
        QVERIFY(!serverMap.get("both").contains(QCborValue("doomed")));
        QCOMPARE(client.orMap()->get("server-only"), QList<QCborValue> { "s" });
        QCOMPARE(storage.orRecords("m").value("server-only").size(), 1);
        QVERIFY(serverMap.isTombstoned(doomed.tag));
    }

    void orPushesEverythingToAnEmptyServer()
    {
        crdt::Hlc serverClock("server");
        crdt::OrMap serverMap(serverClock);
        crdt::Hlc clientClock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Or, clientClock, storage);
        client.orMap()->add("a", 1);
        client.orMap()->add("b", 2);
        FakeSyncServer server(nullptr, &serverMap);
        runSync(client, server);
        QVERIFY(client.isSynced());
        QCOMPARE(serverMap.merkleTree().rootHash(), client.orMap()->merkleTree().rootHash());
    }

    void loadRestoresRecordsAndReplaysTheOpLog()
    {
        crdt::Hlc clock("client");
        MemoryClientStorage storage;
        storage.open();
        storage.storeLwwRecord("m", "stored", { "v", crdt::Timestamp { 5, 0, "x" }, {} });
        storage.setLastSyncTimestamp("m", 1234);
        protocol::ClientOp logged;
        logged.id = "1";
        logged.mapName = "m";
        logged.key = "logged-only";
        logged.opType = protocol::OpType::Put;
        logged.record = crdt::LwwRecord { 7, crdt::Timestamp { 6, 0, "client" }, {} };
        protocol::ClientOp otherMap = logged;
        otherMap.mapName = "other";
        otherMap.key = "elsewhere";

        ClientMap client("m", MapType::Lww, clock, storage);
        client.load({ logged, otherMap });
        QCOMPARE(client.lwwMap()->get("stored"), QCborValue("v"));
        QCOMPARE(client.lwwMap()->get("logged-only"), QCborValue(7));
        QVERIFY(!client.lwwMap()->contains("elsewhere"));
        QCOMPARE(client.lastSyncTimestamp(), 1234);
        // The replayed op's record was missing from storage; now it is stored.
        QCOMPARE(storage.lwwRecords("m").size(), 2);
        // The clock moved past everything it loaded.
        QVERIFY((clock.now() > crdt::Timestamp { 6, 0, "client" }));
    }

    void resetWipesButKeepsPendingWrites()
    {
        crdt::Hlc clock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clock, storage);
        client.lwwMap()->set("old", 1);
        protocol::ClientOp pending = client.put("mine", 2, std::nullopt);
        pending.id = "1";
        storage.setLastSyncTimestamp("m", 99);
        QStringList changedKeys;
        client.setChangeListener([&](const QString &key) { changedKeys.append(key); });

        client.reset({ pending });
        QVERIFY(!client.lwwMap()->contains("old"));
        QCOMPARE(client.lwwMap()->get("mine"), QCborValue(2));
        QCOMPARE(client.lastSyncTimestamp(), 0);
        QCOMPARE(storage.lastSyncTimestamp("m"), 0);
        QCOMPARE(storage.lwwRecords("m").keys(), QStringList { "mine" });
        QVERIFY(changedKeys.contains("old"));
        const auto init = protocol::SyncInitMessage::fromCbor(client.syncInit());
        QCOMPARE(init->lastSyncTimestamp, 0);
    }

    void serverEventsMergeWhateverTheEventType()
    {
        crdt::Hlc clock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clock, storage);
        client.lwwMap()->set("k", "live");
        protocol::ServerEventPayload expiry;
        expiry.mapName = "m";
        expiry.key = "k";
        expiry.eventType = protocol::ServerEventType::Updated;
        expiry.record = crdt::LwwRecord { QCborValue(QCborValue::Null),
            crdt::Timestamp { Q_INT64_C(1) << 50, 0, "server" }, {} };
        client.applyEvent(expiry);
        QVERIFY(!client.lwwMap()->get("k"));
        QVERIFY(storage.lwwRecords("m").value("k").isTombstone());
    }

    void orEventsAddAndRemove()
    {
        crdt::Hlc clock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Or, clock, storage);
        const crdt::OrRecord record { "x", crdt::Timestamp { 10, 0, "other" }, "10:0:other", {} };
        protocol::ServerEventPayload add;
        add.mapName = "m";
        add.key = "k";
        add.eventType = protocol::ServerEventType::OrAdd;
        add.orRecord = record;
        client.applyEvent(add);
        QCOMPARE(client.orMap()->get("k"), QList<QCborValue> { "x" });

        protocol::ServerEventPayload remove = add;
        remove.eventType = protocol::ServerEventType::OrRemove;
        remove.orRecord.reset();
        remove.orTag = record.tag;
        client.applyEvent(remove);
        QVERIFY(client.orMap()->get("k").isEmpty());
        QCOMPARE(storage.orTombstones("m"), QStringList { record.tag });
        QVERIFY(storage.orRecords("m").isEmpty());
    }

    void stalledSyncRestartsThenGivesUp()
    {
        crdt::Hlc clock("client");
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clock, storage);
        client.syncInit();
        QVERIFY(client.isSyncing());
        for (int restart = 0; restart < 3; ++restart) {
            const QList<QCborMap> again = client.checkStalled(0);
            QCOMPARE(again.size(), 1);
            QCOMPARE(again.first().value(QStringLiteral("type")).toString(),
                QStringLiteral("SYNC_INIT"));
        }
        QVERIFY(client.checkStalled(0).isEmpty());
        QVERIFY(!client.isSyncing());
        QVERIFY(!client.isSynced());
    }

    void lastSyncFollowsServerTimeOnceSynced()
    {
        crdt::Hlc clock("client");
        crdt::LwwMap serverMap(clock);
        MemoryClientStorage storage;
        storage.open();
        ClientMap client("m", MapType::Lww, clock, storage);
        client.noteServerTime(kServerMillis - 10);
        QCOMPARE(client.lastSyncTimestamp(), 0); // not in sync yet: proves nothing
        FakeSyncServer server(&serverMap);
        runSync(client, server);
        client.noteServerTime(kServerMillis + 10);
        QCOMPARE(client.lastSyncTimestamp(), kServerMillis + 10);
        QCOMPARE(storage.lastSyncTimestamp("m"), kServerMillis); // written at most once a second
        client.noteServerTime(kServerMillis + 2000);
        QCOMPARE(storage.lastSyncTimestamp("m"), kServerMillis + 2000);
        client.noteServerTime(kServerMillis + 2100);
        client.disconnected();
        QCOMPARE(storage.lastSyncTimestamp("m"), kServerMillis + 2100);
    }
};

QTEST_GUILESS_MAIN(tst_ClientMap)
#include "tst_clientmap.moc"

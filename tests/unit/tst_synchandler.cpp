#include "TestSession.h"

#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "protocol/Messages.h"
#include "sync/SyncHandler.h"

#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using test::TestSession;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;
constexpr qint64 kGcAge = 3'600'000;

// The path of the first non-empty leaf, found by walking the tree's buckets from the root.
template <typename Tree> QString firstLeafPath(const Tree &tree)
{
    QString path;
    while (path.size() < 3) {
        const auto children = tree.buckets(path);
        if (children.isEmpty())
            return {};
        path += children.firstKey();
    }
    return path;
}

struct Node {
    maps::MapRegistry maps { u"server-1"_s, [] { return kNow; } };
    live::QueryRegistry queries;
    sync::SyncHandler handler { maps, queries, kGcAge };
    TestSession client { 1 };

    Node()
    {
        client.authenticate();
        crdt::LwwMap *todos = maps.lwwMap(u"todos"_s);
        for (int i = 0; i < 20; ++i)
            todos->set(u"k%1"_s.arg(i), i);
        crdt::OrMap *tags = maps.orMap(u"tags"_s);
        tags->add(u"a"_s, u"red"_s);
        tags->add(u"a"_s, u"blue"_s);
        tags->add(u"b"_s, u"green"_s);
    }
};

} // namespace

class TestSyncHandler : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { m_node = std::make_unique<Node>(); }
    void cleanup() { m_node.reset(); }

    void rootHashReply_data();
    void rootHashReply();
    void kindMismatchIsAConflict_data();
    void kindMismatchIsAConflict();
    void resetPastTheGcHorizon_data();
    void resetPastTheGcHorizon();
    void innerBucketsReply();
    void leafReply();
    void orBucketsAndLeafReply();
    void unknownMapBucketIsEmpty();
    void orDiffRequest();

private:
    std::unique_ptr<Node> m_node;
};

void TestSyncHandler::rootHashReply_data()
{
    QTest::addColumn<QString>("map");
    QTest::addColumn<bool>("orMap");

    QTest::newRow("LWW") << u"todos"_s << false;
    QTest::newRow("LWW, not yet created") << u"fresh"_s << false;
    QTest::newRow("OR") << u"tags"_s << true;
    QTest::newRow("OR, not yet created") << u"fresh"_s << true;
}

void TestSyncHandler::rootHashReply()
{
    QFETCH(QString, map);
    QFETCH(bool, orMap);
    Node &n = *m_node;
    QCOMPARE(n.queries.listenerCount(map), 0);

    quint32 root = 0;
    std::optional<crdt::Timestamp> stamp;
    if (orMap) {
        OrMapSyncInitMessage init;
        init.mapName = map;
        n.handler.handle(n.client, init);
        const auto replies = n.client.typed<OrMapSyncRespRootMessage>();
        QCOMPARE(replies.size(), 1);
        QCOMPARE(replies.first()->mapName, map);
        root = replies.first()->rootHash;
        stamp = replies.first()->timestamp;
        if (const crdt::OrMap *found = n.maps.findOr(map))
            QCOMPARE(root, found->merkleTree().rootHash());
    } else {
        SyncInitMessage init;
        init.mapName = map;
        n.handler.handle(n.client, init);
        const auto replies = n.client.typed<SyncRespRootMessage>();
        QCOMPARE(replies.size(), 1);
        QCOMPARE(replies.first()->mapName, map);
        root = replies.first()->rootHash;
        stamp = replies.first()->timestamp;
        if (const crdt::LwwMap *found = n.maps.findLww(map))
            QCOMPARE(root, found->merkleTree().rootHash());
    }
    QCOMPARE(n.client.sent().size(), 1);
    if (map == u"fresh"_s)
        QCOMPARE(root, 0u);
    else
        QVERIFY(root != 0);
    QCOMPARE(stamp->nodeId, u"server-1"_s);
    QCOMPARE(stamp->millis, kNow);
    // Syncing a map is listening to it.
    QCOMPARE(n.queries.listenerCount(map), 1);
}

void TestSyncHandler::kindMismatchIsAConflict_data()
{
    QTest::addColumn<bool>("orInit");
    QTest::addColumn<QString>("map");
    QTest::addColumn<QString>("message");

    QTest::newRow("SYNC_INIT on an OR map") << false << u"tags"_s << u"Map tags is an OR map"_s;
    QTest::newRow("ORMAP_SYNC_INIT on an LWW map")
        << true << u"todos"_s << u"Map todos is an LWW map"_s;
}

void TestSyncHandler::kindMismatchIsAConflict()
{
    QFETCH(bool, orInit);
    QFETCH(QString, map);
    QFETCH(QString, message);
    Node &n = *m_node;

    if (orInit) {
        OrMapSyncInitMessage init;
        init.mapName = map;
        n.handler.handle(n.client, init);
    } else {
        SyncInitMessage init;
        init.mapName = map;
        n.handler.handle(n.client, init);
    }
    QCOMPARE(n.client.types(), QStringList { u"ERROR"_s });
    QCOMPARE(n.client.errors().first().code, 409);
    QCOMPARE(n.client.errors().first().message, message);
    QCOMPARE(n.queries.listenerCount(map), 0);
}

void TestSyncHandler::resetPastTheGcHorizon_data()
{
    QTest::addColumn<bool>("orInit");
    QTest::addColumn<qint64>("lastSync"); // -1: not sent
    QTest::addColumn<bool>("reset");

    for (bool orInit : { false, true }) {
        const char *kind = orInit ? "OR" : "LWW";
        QTest::addRow("%s, first sync", kind) << orInit << qint64(-1) << false;
        QTest::addRow("%s, zero", kind) << orInit << qint64(0) << false;
        QTest::addRow("%s, recent", kind) << orInit << kNow - 1000 << false;
        QTest::addRow("%s, at the horizon", kind) << orInit << kNow - kGcAge << false;
        QTest::addRow("%s, past the horizon", kind) << orInit << kNow - kGcAge - 1 << true;
    }
}

void TestSyncHandler::resetPastTheGcHorizon()
{
    QFETCH(bool, orInit);
    QFETCH(qint64, lastSync);
    QFETCH(bool, reset);
    Node &n = *m_node;
    const QString map = orInit ? u"tags"_s : u"todos"_s;
    const std::optional<qint64> last = lastSync < 0 ? std::nullopt : std::optional(lastSync);

    if (orInit) {
        OrMapSyncInitMessage init;
        init.mapName = map;
        init.lastSyncTimestamp = last;
        n.handler.handle(n.client, init);
    } else {
        SyncInitMessage init;
        init.mapName = map;
        init.lastSyncTimestamp = last;
        n.handler.handle(n.client, init);
    }
    const QString root = orInit ? u"ORMAP_SYNC_RESP_ROOT"_s : u"SYNC_RESP_ROOT"_s;
    QCOMPARE(n.client.types(), QStringList { reset ? u"SYNC_RESET_REQUIRED"_s : root });
    if (reset) {
        const auto message = n.client.typed<SyncResetRequiredMessage>().first();
        QVERIFY(message);
        QCOMPARE(message->mapName, map);
    }
    // A client told to reset still hears the map's changes.
    QCOMPARE(n.queries.listenerCount(map), 1);
}

void TestSyncHandler::innerBucketsReply()
{
    Node &n = *m_node;
    const crdt::MerkleTree &tree = n.maps.findLww(u"todos"_s)->merkleTree();
    for (const QString &path :
        { QString(), firstLeafPath(tree).left(1), firstLeafPath(tree).left(2) }) {
        n.client.clear();
        MerkleReqBucketMessage request;
        request.mapName = u"todos"_s;
        request.path = path;
        n.handler.handle(n.client, request);
        const auto replies = n.client.typed<SyncRespBucketsMessage>();
        QCOMPARE(replies.size(), 1);
        QCOMPARE(replies.first()->path, path);
        QCOMPARE(replies.first()->buckets, tree.buckets(path));
        QVERIFY(!replies.first()->buckets.isEmpty());
    }
}

void TestSyncHandler::leafReply()
{
    Node &n = *m_node;
    const crdt::LwwMap &todos = *n.maps.findLww(u"todos"_s);
    const QString leaf = firstLeafPath(todos.merkleTree());
    QCOMPARE(leaf.size(), 3);

    MerkleReqBucketMessage request;
    request.mapName = u"todos"_s;
    request.path = leaf;
    n.handler.handle(n.client, request);

    QCOMPARE(n.client.types(), QStringList { u"SYNC_RESP_LEAF"_s });
    const auto reply = n.client.typed<SyncRespLeafMessage>().first();
    QVERIFY(reply);
    QCOMPARE(reply->path, leaf);
    const QStringList keys = todos.merkleTree().keysInBucket(leaf);
    QCOMPARE(reply->records.size(), keys.size());
    for (const LeafRecord &record : reply->records) {
        QVERIFY(keys.contains(record.key));
        QCOMPARE(record.record, *todos.getRecord(record.key));
    }
}

void TestSyncHandler::orBucketsAndLeafReply()
{
    Node &n = *m_node;
    const crdt::OrMap &tags = *n.maps.findOr(u"tags"_s);
    const QString leaf = firstLeafPath(tags.merkleTree());
    QCOMPARE(leaf.size(), 3);

    OrMapMerkleReqBucketMessage request;
    request.mapName = u"tags"_s;
    request.path = QString();
    n.handler.handle(n.client, request);
    request.path = leaf;
    n.handler.handle(n.client, request);

    QCOMPARE(n.client.types(),
        (QStringList { u"ORMAP_SYNC_RESP_BUCKETS"_s, u"ORMAP_SYNC_RESP_LEAF"_s }));
    QCOMPARE(n.client.typed<OrMapSyncRespBucketsMessage>().first()->buckets,
        tags.merkleTree().buckets(QString()));
    const auto reply = n.client.typed<OrMapSyncRespLeafMessage>().first();
    QVERIFY(reply);
    QVERIFY(!reply->entries.isEmpty());
    for (const OrMapEntry &entry : reply->entries)
        QCOMPARE(entry.records, tags.records(entry.key));
}

void TestSyncHandler::unknownMapBucketIsEmpty()
{
    Node &n = *m_node;
    MerkleReqBucketMessage request;
    request.mapName = u"nothing"_s;
    request.path = u"a"_s;
    n.handler.handle(n.client, request);
    const auto replies = n.client.typed<SyncRespBucketsMessage>();
    QCOMPARE(replies.size(), 1);
    QCOMPARE(replies.first()->mapName, u"nothing"_s);
    QVERIFY(replies.first()->buckets.isEmpty());
    QCOMPARE(n.maps.kindOf(u"nothing"_s), maps::MapRegistry::Kind::None);
}

void TestSyncHandler::orDiffRequest()
{
    Node &n = *m_node;
    const crdt::OrMap &tags = *n.maps.findOr(u"tags"_s);
    OrMapDiffRequestMessage request;
    request.mapName = u"tags"_s;
    request.keys = { u"a"_s, u"missing"_s };
    n.handler.handle(n.client, request);

    const auto reply = n.client.typed<OrMapDiffResponseMessage>();
    QCOMPARE(reply.size(), 1);
    QCOMPARE(reply.first()->entries.size(), 2);
    QCOMPARE(reply.first()->entries.at(0).key, u"a"_s);
    QCOMPARE(reply.first()->entries.at(0).records, tags.records(u"a"_s));
    QCOMPARE(reply.first()->entries.at(0).records.size(), 2);
    QCOMPARE(reply.first()->entries.at(1).key, u"missing"_s);
    QVERIFY(reply.first()->entries.at(1).records.isEmpty());
}

QTEST_GUILESS_MAIN(TestSyncHandler)
#include "tst_synchandler.moc"

#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "crdt/OrMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QElapsedTimer>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");

QCborMap putBatch(const QString &id, const QString &map, const QString &key,
    const QCborValue &value, qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, QStringLiteral("client-w") }, std::nullopt };
    return QCborMap { { kType, QStringLiteral("OP_BATCH") },
        { kPayload, QCborMap { { QStringLiteral("ops"), QCborArray { op.toCbor() } } } } };
}

QCborMap orAddBatch(const QString &id, const QString &map, const QString &key,
    const QCborValue &value, const QString &tag, qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::OrAdd;
    op.orRecord
        = crdt::OrRecord { value, { millis, 0, QStringLiteral("client-w") }, tag, std::nullopt };
    return QCborMap { { kType, QStringLiteral("OP_BATCH") },
        { kPayload, QCborMap { { QStringLiteral("ops"), QCborArray { op.toCbor() } } } } };
}

QCborMap payloadOf(const std::optional<QCborMap> &message)
{
    return message ? message->value(kPayload).toMap() : QCborMap();
}

std::unique_ptr<RawClient> connectTo(ServerCoordinator &node, const QString &user)
{
    auto client = std::make_unique<RawClient>();
    if (!client->connectAndAuthenticate(node.port(), TestTokens::userToken(kTestSecret, user)))
        return nullptr;
    return client;
}

} // namespace

// A change made on one node reaches the clients of every other node (docs/cluster.md §4: every
// receiver fans the change out to its own clients; there are no distributed subscriptions).
class tst_ClusterFanout : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void writesOnAReachSubscribersOnC()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        auto writer = connectTo(*cluster.node(0), QStringLiteral("writer"));
        auto subscriber = connectTo(*cluster.node(2), QStringLiteral("subscriber"));
        QVERIFY(writer && subscriber);

        subscriber->send(QCborMap { { kType, QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("people") } });
        QVERIFY(subscriber->take(QStringLiteral("SYNC_RESP_ROOT")));
        const QCborMap query { { QStringLiteral("predicate"),
            QCborMap { { QStringLiteral("op"), QStringLiteral("gte") },
                { QStringLiteral("attribute"), QStringLiteral("age") },
                { QStringLiteral("value"), 18 } } } };
        subscriber->send(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("adults") },
                    { QStringLiteral("mapName"), QStringLiteral("people") },
                    { QStringLiteral("query"), query } } } });
        QVERIFY(subscriber->take(QStringLiteral("QUERY_RESP")));

        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const QCborMap ann { { QStringLiteral("name"), QStringLiteral("Ann") },
            { QStringLiteral("age"), 30 } };
        QElapsedTimer sinceWrite;
        sinceWrite.start();
        writer->send(putBatch(
            QStringLiteral("1"), QStringLiteral("people"), QStringLiteral("ann"), ann, now));
        const QCborMap event = payloadOf(subscriber->take(QStringLiteral("SERVER_EVENT"), 1000));
        QCOMPARE(event.value(QStringLiteral("key")).toString(), QStringLiteral("ann"));
        QCOMPARE(event.value(QStringLiteral("eventType")).toString(), QStringLiteral("PUT"));
        QCOMPARE(event.value(QStringLiteral("record"))
                     .toMap()
                     .value(QStringLiteral("value"))
                     .toMap()
                     .value(QStringLiteral("name"))
                     .toString(),
            QStringLiteral("Ann"));
        const QCborMap entered = payloadOf(subscriber->take(QStringLiteral("QUERY_UPDATE"), 1000));
        QCOMPARE(entered.value(QStringLiteral("type")).toString(), QStringLiteral("ENTER"));
        QCOMPARE(entered.value(QStringLiteral("key")).toString(), QStringLiteral("ann"));
        QVERIFY(sinceWrite.elapsed() < 1000);

        // A delete made on A leaves C's live query too.
        writer->send(putBatch(QStringLiteral("2"), QStringLiteral("people"), QStringLiteral("ann"),
            QCborValue(QCborValue::Null), now + 1));
        const QCborMap removed = payloadOf(subscriber->take(QStringLiteral("SERVER_EVENT"), 1000));
        QCOMPARE(removed.value(QStringLiteral("eventType")).toString(), QStringLiteral("REMOVE"));
        const QCborMap left = payloadOf(subscriber->take(QStringLiteral("QUERY_UPDATE"), 1000));
        QCOMPARE(left.value(QStringLiteral("type")).toString(), QStringLiteral("REMOVE"));

        // The writer's own node does not echo its change back to it.
        QVERIFY(writer->takeAck());
        QVERIFY(!writer->has(QStringLiteral("SERVER_EVENT")));
    }

    void orMapAddsReachEveryNode()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        auto writer = connectTo(*cluster.node(1), QStringLiteral("writer"));
        auto listener = connectTo(*cluster.node(0), QStringLiteral("listener"));
        QVERIFY(writer && listener);
        listener->send(QCborMap { { kType, QStringLiteral("ORMAP_SYNC_INIT") },
            { QStringLiteral("mapName"), QStringLiteral("tags") },
            { QStringLiteral("rootHash"), 0 }, { QStringLiteral("bucketHashes"), QCborMap() } });
        QVERIFY(listener->take(QStringLiteral("ORMAP_SYNC_RESP_ROOT")));

        writer->send(orAddBatch(QStringLiteral("1"), QStringLiteral("tags"), QStringLiteral("t"),
            QStringLiteral("red"), QStringLiteral("tag-1"), QDateTime::currentMSecsSinceEpoch()));
        QVERIFY(writer->takeAck());
        const QCborMap event = payloadOf(listener->take(QStringLiteral("SERVER_EVENT"), 1000));
        QCOMPARE(event.value(QStringLiteral("eventType")).toString(), QStringLiteral("OR_ADD"));
        for (ServerCoordinator *node : cluster.all()) {
            QTRY_VERIFY_WITH_TIMEOUT(node->getOrMap(QStringLiteral("tags"))
                    && node->getOrMap(QStringLiteral("tags"))->get(QStringLiteral("t")).size() == 1,
                2000);
        }
    }
};

QTEST_MAIN(tst_ClusterFanout)
#include "tst_cluster_fanout.moc"

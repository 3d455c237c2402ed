#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kMap = QStringLiteral("routing");

QCborMap payloadOf(const QCborMap &message)
{
    return message.value(QStringLiteral("payload")).toMap();
}

} // namespace

// Writes through one node of three (docs/cluster.md §4, §11 tst_cluster_routing): nothing is
// forwarded and nothing is lost; the ack waits for the key's owner.
class tst_ClusterRouting : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void thousandKeysThroughOneNode()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        ServerCoordinator *a = cluster.node(0);

        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            a->port(), TestTokens::userToken(kTestSecret, QStringLiteral("writer"))));

        // At the moment each OP_ACK arrives, the owner of every acked key already holds it.
        QStringList missingAtAck;
        int acked = 0;
        connect(&client, &RawClient::messageReceived, this, [&](const QCborMap &message) {
            if (message.value(QStringLiteral("type")).toString() != u"OP_ACK")
                return;
            const QCborArray results
                = payloadOf(message).value(QStringLiteral("results")).toArray();
            for (const QCborValue &result : results) {
                const QCborMap entry = result.toMap();
                if (!entry.value(QStringLiteral("success")).toBool())
                    continue;
                ++acked;
                const QString key
                    = QStringLiteral("key-%1").arg(entry.value(QStringLiteral("opId")).toString());
                const ServerCoordinator *owner = cluster.ownerOf(key);
                if (!owner || !owner->getMap(kMap) || !owner->getMap(kMap)->get(key))
                    missingAtAck.append(key);
            }
        });

        const qint64 millis = QDateTime::currentMSecsSinceEpoch();
        for (int batch = 0; batch < 10; ++batch)
            client.send(
                lwwPutBatch(kMap, batch * 100 + 1, 100, millis, QStringLiteral("client-a")));
        QTRY_COMPARE_WITH_TIMEOUT(acked, 1000, 10000);
        QVERIFY2(missingAtAck.isEmpty(), qPrintable(missingAtAck.mid(0, 5).join(u',')));
        QCOMPARE(lwwSizeOf(*a, kMap), 1000);

        // Every node is a full replica: all hold every key and agree on the Merkle root.
        for (ServerCoordinator *node : cluster.all())
            QTRY_COMPARE_WITH_TIMEOUT(lwwSizeOf(*node, kMap), 1000, 5000);
        for (ServerCoordinator *node : cluster.all())
            QCOMPARE(lwwRootOf(*node, kMap), lwwRootOf(*a, kMap));

        // A client of C syncs A's root from C's own replica.
        RawClient reader;
        QVERIFY(reader.connectAndAuthenticate(
            cluster.node(2)->port(), TestTokens::userToken(kTestSecret, QStringLiteral("reader"))));
        reader.send(QCborMap { { QStringLiteral("type"), QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), kMap } });
        const auto root = reader.take(QStringLiteral("SYNC_RESP_ROOT"));
        QVERIFY(root);
        QCOMPARE(quint32(payloadOf(*root).value(QStringLiteral("rootHash")).toInteger()),
            lwwRootOf(*a, kMap));
    }

    void everyNodeServesOnePartitionMap()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        QList<QCborMap> maps;
        for (ServerCoordinator *node : cluster.all()) {
            RawClient client;
            QVERIFY(client.connectAndAuthenticate(
                node->port(), TestTokens::userToken(kTestSecret, QStringLiteral("router"))));
            client.send(
                QCborMap { { QStringLiteral("type"), QStringLiteral("PARTITION_MAP_REQUEST") } });
            const auto map = client.take(QStringLiteral("PARTITION_MAP"));
            QVERIFY(map);
            maps.append(payloadOf(*map));
        }
        QCOMPARE(maps.at(1), maps.at(0));
        QCOMPARE(maps.at(2), maps.at(0));
        QStringList endpoints;
        for (const QCborValue &node : maps.at(0).value(QStringLiteral("nodes")).toArray())
            endpoints.append(node.toMap()
                                 .value(QStringLiteral("endpoints"))
                                 .toMap()
                                 .value(QStringLiteral("websocket"))
                                 .toString());
        QStringList expected;
        for (ServerCoordinator *node : cluster.all())
            expected.append(QStringLiteral("ws://127.0.0.1:%1").arg(node->port()));
        endpoints.sort();
        expected.sort();
        QCOMPARE(endpoints, expected);
        const cluster::PartitionTable &table = cluster.node(0)->cluster()->table();
        for (const QCborValue &value : maps.at(0).value(QStringLiteral("partitions")).toArray()) {
            const QCborMap partition = value.toMap();
            const int id = int(partition.value(QStringLiteral("partitionId")).toInteger());
            QCOMPARE(partition.value(QStringLiteral("ownerNodeId")).toString(), table.owner(id));
        }
    }
};

QTEST_MAIN(tst_ClusterRouting)
#include "tst_cluster_routing.moc"

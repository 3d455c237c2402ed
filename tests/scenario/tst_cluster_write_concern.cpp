#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QTcpServer>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");
const QString kMap = QStringLiteral("concern");

QCborMap batchOf(const QStringList &keys, const QString &writeConcern, qint64 millis)
{
    QCborArray ops;
    int id = 0;
    for (const QString &key : keys) {
        protocol::ClientOp op;
        op.id = QString::number(++id);
        op.mapName = kMap;
        op.key = key;
        op.opType = protocol::OpType::Put;
        op.record
            = crdt::LwwRecord { key, { millis, id, QStringLiteral("client-w") }, std::nullopt };
        ops.append(op.toCbor());
    }
    QCborMap payload { { QStringLiteral("ops"), ops } };
    if (!writeConcern.isEmpty())
        payload.insert(QStringLiteral("writeConcern"), writeConcern);
    return QCborMap { { kType, QStringLiteral("OP_BATCH") }, { kPayload, payload } };
}

bool holds(const ServerCoordinator *node, const QString &key)
{
    return node && node->getMap(kMap) && node->getMap(kMap)->get(key).has_value();
}

} // namespace

// What an OP_ACK promises in a cluster (docs/cluster.md §4 "Ack sets").
class tst_ClusterWriteConcern : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void replicatedAckMeansOwnerAndBackupsHoldIt()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        ServerCoordinator *entry = cluster.node(0);
        const cluster::PartitionTable &table = entry->cluster()->table();
        // Keys owned by each node, so the entry is owner, backup and neither in turn.
        QStringList keys;
        for (int i = 0; keys.size() < 30; ++i)
            keys.append(QStringLiteral("k%1").arg(i));

        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            entry->port(), TestTokens::userToken(kTestSecret, QStringLiteral("writer"))));
        QStringList notHeldAtAck;
        QString level;
        connect(&client, &RawClient::messageReceived, this, [&](const QCborMap &message) {
            if (message.value(kType).toString() != u"OP_ACK")
                return;
            level
                = message.value(kPayload).toMap().value(QStringLiteral("achievedLevel")).toString();
            for (const QString &key : keys) {
                const int partition = cluster::PartitionTable::partitionOf(key);
                QStringList holders = table.backups(partition);
                holders.prepend(table.owner(partition));
                for (const QString &holder : holders) {
                    if (!holds(cluster.byId(holder), key))
                        notHeldAtAck.append(holder + u'/' + key);
                }
            }
        });
        client.send(
            batchOf(keys, QStringLiteral("REPLICATED"), QDateTime::currentMSecsSinceEpoch()));
        const auto ack = client.takeAck();
        QVERIFY(ack);
        QVERIFY2(notHeldAtAck.isEmpty(), qPrintable(notHeldAtAck.join(u',')));
        QCOMPARE(level, QStringLiteral("REPLICATED"));
        QCOMPARE(entry->counters().acksDegraded, quint64(0));
    }

    void defaultAckWaitsForTheOwner()
    {
        ClusterNodes cluster;
        QVERIFY(cluster.startMeshed(3));
        ServerCoordinator *entry = cluster.node(1);
        QStringList keys;
        for (int i = 0; i < 50; ++i)
            keys.append(QStringLiteral("d%1").arg(i));
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            entry->port(), TestTokens::userToken(kTestSecret, QStringLiteral("writer"))));
        QStringList notHeldAtAck;
        connect(&client, &RawClient::messageReceived, this, [&](const QCborMap &message) {
            if (message.value(kType).toString() != u"OP_ACK")
                return;
            for (const QString &key : keys) {
                if (!holds(cluster.ownerOf(key), key))
                    notHeldAtAck.append(key);
            }
        });
        client.send(batchOf(keys, {}, QDateTime::currentMSecsSinceEpoch()));
        const auto ack = client.takeAck();
        QVERIFY(ack);
        QVERIFY2(notHeldAtAck.isEmpty(), qPrintable(notHeldAtAck.join(u',')));
        QCOMPARE(ack->value(kPayload).toMap().value(QStringLiteral("achievedLevel")).toString(),
            QStringLiteral("PERSISTED"));
    }

    void aNodeAloneAcksDegraded()
    {
        // Its only peer's address answers nothing: the node is alone in its table.
        QTcpServer nobody;
        QVERIFY(nobody.listen(QHostAddress::LocalHost, 0));
        const quint16 deadPort = nobody.serverPort();
        nobody.close();
        ClusterNodes cluster;
        ServerCoordinator *alone
            = cluster.start(QStringLiteral("node-alone"), [deadPort](ServerConfig &config) {
                  config.peers = { QStringLiteral("127.0.0.1:%1").arg(deadPort) };
              });
        QVERIFY(alone);
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            alone->port(), TestTokens::userToken(kTestSecret, QStringLiteral("writer"))));
        client.send(batchOf({ QStringLiteral("solo") }, QStringLiteral("REPLICATED"),
            QDateTime::currentMSecsSinceEpoch()));
        const auto ack = client.takeAck();
        QVERIFY(ack);
        QCOMPARE(ack->value(kPayload).toMap().value(QStringLiteral("achievedLevel")).toString(),
            QStringLiteral("PERSISTED"));
        QVERIFY(holds(alone, QStringLiteral("solo")));
        QCOMPARE(alone->counters().acksDegraded, quint64(1));
    }
};

QTEST_MAIN(tst_ClusterWriteConcern)
#include "tst_cluster_write_concern.moc"

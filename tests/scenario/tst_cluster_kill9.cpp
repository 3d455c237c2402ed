#include "RawClient.h"
#include "ServerProcess.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QElapsedTimer>
#include <QMap>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <memory>
#include <optional>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kMap = QStringLiteral("kill9");
const QString kClusterSecret = QStringLiteral("kill9-cluster-secret-0123456789");
constexpr int kBatchSize = 40;

QCborMap payloadOf(const QCborMap &message)
{
    return message.value(QStringLiteral("payload")).toMap();
}

// A TopGun-shaped writer: an op log of unique keys with ascending ids; an op leaves the log only
// when an OP_ACK `results` entry says success; on reconnecting, everything left is sent again.
class Writer : public QObject
{
public:
    explicit Writer(const QString &name)
        : m_name(name)
    { }

    bool connectTo(quint16 port)
    {
        m_client = std::make_unique<RawClient>();
        connect(m_client.get(), &RawClient::messageReceived, this, &Writer::onMessage);
        return m_client->connectAndAuthenticate(port, TestTokens::userToken(kTestSecret, m_name));
    }

    // Appends a batch of new ops to the log and sends it.
    void sendNewBatch()
    {
        QCborArray ops;
        for (int i = 0; i < kBatchSize; ++i) {
            const int id = ++m_lastId;
            protocol::ClientOp op;
            op.id = QString::number(id);
            op.mapName = kMap;
            op.key = QStringLiteral("%1-%2").arg(m_name).arg(id);
            op.opType = protocol::OpType::Put;
            op.record = crdt::LwwRecord { QCborValue(id),
                { QDateTime::currentMSecsSinceEpoch(), 0, m_name }, std::nullopt };
            m_pending.insert(id, op);
            ops.append(op.toCbor());
        }
        send(ops);
    }

    // Sends every op not acked yet again, in id order; returns how many.
    int resendPending()
    {
        QCborArray ops;
        for (const protocol::ClientOp &op : std::as_const(m_pending))
            ops.append(op.toCbor());
        if (!ops.isEmpty())
            send(ops);
        return int(ops.size());
    }

    int pendingCount() const { return int(m_pending.size()); }
    int sent() const { return m_lastId; }
    const QSet<QString> &acked() const { return m_acked; }
    int failed() const { return m_failed; }
    RawClient *client() const { return m_client.get(); }

private:
    void send(const QCborArray &ops)
    {
        m_client->send(QCborMap { { QStringLiteral("type"), QStringLiteral("OP_BATCH") },
            { QStringLiteral("payload"), QCborMap { { QStringLiteral("ops"), ops } } } });
    }

    void onMessage(const QCborMap &message)
    {
        if (message.value(QStringLiteral("type")).toString() != u"OP_ACK")
            return;
        const QCborArray results = payloadOf(message).value(QStringLiteral("results")).toArray();
        for (const QCborValue &value : results) {
            const QCborMap entry = value.toMap();
            const int id = entry.value(QStringLiteral("opId")).toString().toInt();
            const auto it = m_pending.constFind(id);
            if (it == m_pending.cend())
                continue;
            if (entry.value(QStringLiteral("success")).toBool())
                m_acked.insert(it->key);
            else
                ++m_failed;
            m_pending.erase(it);
        }
    }

    QString m_name;
    std::unique_ptr<RawClient> m_client;
    QMap<int, protocol::ClientOp> m_pending;
    QSet<QString> m_acked;
    int m_lastId = 0;
    int m_failed = 0;
};

// Acked keys the node at port does not hold (all of them when it does not answer).
QStringList missingOn(quint16 port, const QSet<QString> &acked)
{
    const auto keys = RawClient::keysOf(port, kMap);
    QStringList missing;
    for (const QString &key : acked) {
        if (!keys || !keys->contains(key))
            missing.append(key);
    }
    missing.sort();
    return missing;
}

// ACTIVE members in the partition map the node at port serves.
int activeMembers(quint16 port)
{
    RawClient client;
    if (!client.connectAndAuthenticate(
            port, TestTokens::userToken(kTestSecret, QStringLiteral("router"))))
        return -1;
    client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("PARTITION_MAP_REQUEST") } });
    const auto map = client.take(QStringLiteral("PARTITION_MAP"), 2000);
    if (!map)
        return -1;
    int active = 0;
    for (const QCborValue &node : payloadOf(*map).value(QStringLiteral("nodes")).toArray())
        active += node.toMap().value(QStringLiteral("status")).toString() == u"ACTIVE";
    return active;
}

} // namespace

// kill -9 of one node of three mid-stream (docs/cluster.md §11 tst_cluster_kill9): no acked write
// is lost, the survivors hold them all, and the restarted node catches up.
class tst_ClusterKill9 : public QObject
{
    Q_OBJECT

private:
    QStringList nodeArguments(const QString &id, const QStringList &peers) const
    {
        QStringList arguments { QStringLiteral("--node-id"), id, QStringLiteral("--storage"),
            QStringLiteral("sqlite:") + m_dir.filePath(id + QStringLiteral(".db")),
            QStringLiteral("--cluster-secret"), kClusterSecret,
            QStringLiteral("--probe-interval-ms"), QStringLiteral("200"),
            QStringLiteral("--suspicion-timeout-ms"), QStringLiteral("600"),
            QStringLiteral("--write-ack-timeout-ms"), QStringLiteral("1000") };
        if (!peers.isEmpty())
            arguments << QStringLiteral("--peers") << peers.join(u',');
        return arguments;
    }

    QTemporaryDir m_dir;

private Q_SLOTS:
    void ackedWritesSurviveKill9()
    {
        QVERIFY(m_dir.isValid());
        ServerProcess a;
        ServerProcess b;
        ServerProcess c;
        a.start(nodeArguments(QStringLiteral("node-a"), {}), m_dir.path());
        QVERIFY2(a.waitForReady(), qPrintable(a.output()));
        const QString seed = QStringLiteral("127.0.0.1:%1").arg(a.clusterPort());
        QVERIFY(a.clusterPort() != 0);
        b.start(nodeArguments(QStringLiteral("node-b"), { seed }), m_dir.path());
        c.start(nodeArguments(QStringLiteral("node-c"), { seed }), m_dir.path());
        QVERIFY2(b.waitForReady(), qPrintable(b.output()));
        QVERIFY2(c.waitForReady(), qPrintable(c.output()));
        for (ServerProcess *node : { &a, &b, &c })
            QTRY_COMPARE_WITH_TIMEOUT(activeMembers(node->port()), 3, 10000);

        Writer writerA(QStringLiteral("writer-a"));
        Writer writerB(QStringLiteral("writer-b"));
        QVERIFY(writerA.connectTo(a.port()));
        QVERIFY(writerB.connectTo(b.port()));

        // Both write; every batch is acked before the next.
        for (int round = 0; round < 5; ++round) {
            writerA.sendNewBatch();
            writerB.sendNewBatch();
            QTRY_VERIFY_WITH_TIMEOUT(
                writerA.pendingCount() == 0 && writerB.pendingCount() == 0, 10000);
        }
        // B's writer streams: each OP_ACK sends the next batch, up to three batches in flight.
        // Once four more batches are acked, it sends two more and B is killed -9 as soon as their
        // bytes have left the client (B may have read, applied or replicated some of them).
        const qsizetype killAt = writerB.acked().size() + 4 * kBatchSize;
        bool killed = false;
        bool lastSent = false;
        connect(&writerB.client()->socket(), &QWebSocket::bytesWritten, this, [&] {
            if (lastSent && !killed && writerB.client()->socket().bytesToWrite() == 0) {
                killed = true;
                b.process().kill();
            }
        });
        connect(writerB.client(), &RawClient::messageReceived, this, [&](const QCborMap &message) {
            if (lastSent || message.value(QStringLiteral("type")).toString() != u"OP_ACK")
                return;
            if (writerB.acked().size() >= killAt) {
                lastSent = true;
                writerB.sendNewBatch();
                writerB.sendNewBatch();
            } else if (writerB.pendingCount() < 3 * kBatchSize) {
                writerB.sendNewBatch();
            }
        });
        writerA.sendNewBatch();
        for (int batch = 0; batch < 3; ++batch)
            writerB.sendNewBatch();
        QTRY_VERIFY_WITH_TIMEOUT(killed, 10000);
        b.kill();
        const int ackedOnB = int(writerB.acked().size());
        const int unackedOnB = writerB.pendingCount();

        // B's writer reconnects to C and sends its whole unacked log again.
        QVERIFY(writerB.connectTo(c.port()));
        const int resent = writerB.resendPending();
        QCOMPARE(resent, unackedOnB);
        for (int round = 0; round < 3; ++round) {
            writerA.sendNewBatch();
            writerB.sendNewBatch();
            QTRY_VERIFY_WITH_TIMEOUT(
                writerA.pendingCount() == 0 && writerB.pendingCount() == 0, 10000);
        }
        QCOMPARE(writerA.failed(), 0);
        QCOMPARE(writerB.failed(), 0);

        QSet<QString> acked = writerA.acked();
        acked.unite(writerB.acked());
        // Every op either writer ever sent was acked in the end.
        QCOMPARE(writerA.acked().size(), writerA.sent());
        QCOMPARE(writerB.acked().size(), writerB.sent());

        // Before B restarts, the survivors hold every acked key.
        QStringList missing;
        for (ServerProcess *node : { &a, &c }) {
            QTRY_VERIFY2_WITH_TIMEOUT((missing = missingOn(node->port(), acked)).isEmpty(),
                qPrintable(QStringLiteral("%1 lacks %2 acked keys, e.g. %3\n%4")
                               .arg(node->nodeId())
                               .arg(missing.size())
                               .arg(missing.mid(0, 5).join(u','), node->output().right(4000))),
                5000);
        }

        // B restarts with the same id and data and catches up within 10 s.
        QElapsedTimer catchUp;
        catchUp.start();
        b.start(nodeArguments(QStringLiteral("node-b"), { seed }), m_dir.path());
        QVERIFY2(b.waitForReady(), qPrintable(b.output()));
        QTRY_VERIFY2_WITH_TIMEOUT((missing = missingOn(b.port(), acked)).isEmpty(),
            qPrintable(QStringLiteral("restarted node-b lacks %1 acked keys, e.g. %2\n%3")
                           .arg(missing.size())
                           .arg(missing.mid(0, 5).join(u','), b.output().right(4000))),
            10000);
        const qint64 catchUpMs = catchUp.elapsed();

        qInfo().noquote() << QStringLiteral(
            "acked via A: %1; acked via B before kill: %2; re-sent to C: %3; acked via B's writer "
            "in all: %4; acked writes lost: 0; B's restart to catch-up: %5 ms")
                                 .arg(writerA.acked().size())
                                 .arg(ackedOnB)
                                 .arg(resent)
                                 .arg(writerB.acked().size())
                                 .arg(catchUpMs);
    }
};

QTEST_MAIN(tst_ClusterKill9)
#include "tst_cluster_kill9.moc"

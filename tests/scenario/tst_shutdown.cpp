#include "RawClient.h"
#include "ServerProcess.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QMap>
#include <QSet>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <optional>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kMap = QStringLiteral("drain");
constexpr int kBatchSize = 50;
constexpr int kBatchesInFlight = 6;

// A client writing as fast as the node acks: kBatchesInFlight OP_BATCHes of unique keys in flight,
// a new one on every OP_ACK, until the socket closes. It records which keys were acked and every
// message type it got, in order.
class Writer : public QObject
{
public:
    explicit Writer(const QString &name)
        : m_name(name)
    {
        connect(&m_client, &RawClient::messageReceived, this, &Writer::onMessage);
    }

    bool connectTo(quint16 port)
    {
        return m_client.connectAndAuthenticate(port, TestTokens::userToken(kTestSecret, m_name));
    }

    void startStreaming()
    {
        for (int i = 0; i < kBatchesInFlight; ++i)
            sendBatch();
    }

    const QSet<QString> &acked() const { return m_acked; }
    RawClient &client() { return m_client; }

private:
    void sendBatch()
    {
        if (!m_client.isConnected())
            return;
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
            m_keys.insert(id, op.key);
            ops.append(op.toCbor());
        }
        m_client.send(QCborMap { { QStringLiteral("type"), QStringLiteral("OP_BATCH") },
            { QStringLiteral("payload"), QCborMap { { QStringLiteral("ops"), ops } } } });
    }

    void onMessage(const QCborMap &message)
    {
        if (message.value(QStringLiteral("type")).toString() != u"OP_ACK")
            return;
        const QCborArray results = message.value(QStringLiteral("payload"))
                                       .toMap()
                                       .value(QStringLiteral("results"))
                                       .toArray();
        for (const QCborValue &value : results) {
            const QCborMap entry = value.toMap();
            const int id = entry.value(QStringLiteral("opId")).toString().toInt();
            if (entry.value(QStringLiteral("success")).toBool() && m_keys.contains(id))
                m_acked.insert(m_keys.value(id));
        }
        sendBatch();
    }

    QString m_name;
    RawClient m_client;
    QMap<int, QString> m_keys;
    QSet<QString> m_acked;
    int m_lastId = 0;
};

// ACTIVE members in the partition map the node at port serves; -1 when it does not answer.
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
    const QCborArray nodes
        = map->value(QStringLiteral("payload")).toMap().value(QStringLiteral("nodes")).toArray();
    for (const QCborValue &node : nodes)
        active += node.toMap().value(QStringLiteral("status")).toString() == u"ACTIVE";
    return active;
}

} // namespace

class tst_Shutdown : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // SIGTERM while clients write at full speed: every op the node committed was acknowledged,
    // every client heard SHUTDOWN_PENDING and then a 1001 close. Rounds, because the race is
    // between the signal and whatever is in flight at that moment.
    // With a peer, an ack also waits for the peer's commit.
    void sigtermUnderLoadAcksEveryCommittedOp_data()
    {
        QTest::addColumn<bool>("withPeer");
        for (int round = 1; round <= 20; ++round)
            QTest::addRow("single node, round %d", round) << false;
        for (int round = 1; round <= 5; ++round)
            QTest::addRow("with a peer, round %d", round) << true;
    }

    void sigtermUnderLoadAcksEveryCommittedOp()
    {
        QFETCH(bool, withPeer);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QStringList arguments { QStringLiteral("--storage"),
            QStringLiteral("sqlite:") + dir.filePath(QStringLiteral("node.db")) };
        ServerProcess peer;
        if (withPeer) {
            const QString secret = QStringLiteral("shutdown-cluster-secret-0123456789");
            peer.start({ QStringLiteral("--node-id"), QStringLiteral("node-b"),
                           QStringLiteral("--storage"),
                           QStringLiteral("sqlite:") + dir.filePath(QStringLiteral("peer.db")),
                           QStringLiteral("--cluster-secret"), secret },
                dir.path());
            QVERIFY2(peer.waitForReady(), qPrintable(peer.output()));
            arguments << QStringLiteral("--node-id") << QStringLiteral("node-a")
                      << QStringLiteral("--cluster-secret") << secret << QStringLiteral("--peers")
                      << QStringLiteral("127.0.0.1:%1").arg(peer.clusterPort());
        }
        ServerProcess node;
        node.start(arguments, dir.path());
        QVERIFY2(node.waitForReady(), qPrintable(node.output()));
        if (withPeer)
            QTRY_COMPARE_WITH_TIMEOUT(activeMembers(node.port()), 2, 20000);

        std::vector<std::unique_ptr<Writer>> writers;
        for (const char *name : { "writer-a", "writer-b", "writer-c" }) {
            writers.push_back(std::make_unique<Writer>(QString::fromLatin1(name)));
            QVERIFY(writers.back()->connectTo(node.port()));
        }
        for (const auto &writer : writers)
            writer->startStreaming();
        // Terminated once every writer has a few batches acked, with more in flight.
        QTRY_VERIFY_WITH_TIMEOUT(
            std::all_of(writers.cbegin(), writers.cend(),
                [](const auto &w) { return w->acked().size() >= 3 * kBatchSize; }),
            20000);
        QVERIFY(node.terminate(30000));
        for (const auto &writer : writers)
            QVERIFY(writer->client().waitForDisconnected(20000));

        QSet<QString> acked;
        for (const auto &writer : writers) {
            const QStringList types = writer->client().receivedTypes();
            QVERIFY2(types.contains(QStringLiteral("SHUTDOWN_PENDING")),
                qPrintable(QStringLiteral("close %1 without SHUTDOWN_PENDING")
                               .arg(writer->client().closeCode())));
            QCOMPARE(writer->client().closeCode(), 1001);
            acked.unite(writer->acked());
        }

        node.start(arguments, dir.path());
        QVERIFY2(node.waitForReady(), qPrintable(node.output()));
        const auto stored = RawClient::keysOf(node.port(), kMap);
        QVERIFY(stored);
        QStringList unacked;
        for (const QString &key : *stored) {
            if (!acked.contains(key))
                unacked.append(key);
        }
        QStringList lost;
        for (const QString &key : std::as_const(acked)) {
            if (!stored->contains(key))
                lost.append(key);
        }
        QVERIFY2(lost.isEmpty(), qPrintable(QStringLiteral("%1 acked keys lost").arg(lost.size())));
        QVERIFY2(unacked.isEmpty(),
            qPrintable(QStringLiteral("%1 of %2 committed keys never acked, e.g. %3")
                           .arg(unacked.size())
                           .arg(stored->size())
                           .arg(unacked.mid(0, 3).join(u','))));
        QVERIFY(node.terminate());
        if (withPeer)
            QVERIFY(peer.terminate());
    }

    void clientsHearShutdownPendingBeforeTheSocketCloses()
    {
        auto server = startServer();
        QVERIFY(server);
        RawClient authenticated, pending;
        QVERIFY(authenticated.connectAndAuthenticate(
            server->port(), TestTokens::userToken(kTestSecret)));
        QVERIFY(pending.connectTo(server->port()));
        QVERIFY(pending.take(QStringLiteral("AUTH_REQUIRED")));

        bool noticeBeforeClose = false;
        connect(&authenticated.socket(), &QWebSocket::disconnected, this,
            [&] { noticeBeforeClose = authenticated.has(QStringLiteral("SHUTDOWN_PENDING")); });

        QSignalSpy stopped(server.get(), &ServerCoordinator::stopped);
        server->shutdown();
        for (RawClient *client : { &authenticated, &pending }) {
            const auto notice = client->take(QStringLiteral("SHUTDOWN_PENDING"));
            QVERIFY(notice);
            QCOMPARE(notice->value(QStringLiteral("retryAfter")).toInteger(), 5000);
            QVERIFY(client->waitForDisconnected());
            QCOMPARE(client->closeCode(), 1001);
        }
        QVERIFY(noticeBeforeClose);
        QVERIFY(stopped.count() == 1 || stopped.wait(5000));
        QCOMPARE(server->state(), ServerCoordinator::State::Stopped);
    }

    void connectingAfterShutdownFails()
    {
        auto server = startServer();
        QVERIFY(server);
        const quint16 port = server->port();
        const quint16 clusterPort = server->clusterPort();
        QVERIFY(stopServer(*server));

        RawClient client;
        QVERIFY(!client.connectTo(port, 2000));
        QTcpSocket peer;
        peer.connectToHost(QHostAddress::LocalHost, clusterPort);
        QVERIFY(!peer.waitForConnected(2000));
    }

    void shutdownTwiceIsHarmless()
    {
        auto server = startServer();
        QVERIFY(server);
        RawClient client;
        QVERIFY(client.connectTo(server->port()));
        QSignalSpy stopped(server.get(), &ServerCoordinator::stopped);
        server->shutdown();
        server->shutdown();
        QVERIFY(stopped.wait(5000));
        server->shutdown();
        QVERIFY(client.waitForDisconnected());
        QCOMPARE(client.receivedTypes().count(QStringLiteral("SHUTDOWN_PENDING")), 1);
        QCoreApplication::processEvents();
        QCOMPARE(stopped.count(), 1);
    }

    void shutdownWithNoClientsStops()
    {
        auto server = startServer();
        QVERIFY(server);
        QSignalSpy stopped(server.get(), &ServerCoordinator::stopped);
        server->shutdown();
        QVERIFY(stopped.wait(5000));
    }

    void unresponsiveClientDoesNotHangShutdown()
    {
        auto server = startServer();
        QVERIFY(server);
        // A client that stops reading never answers the close handshake; shutdown still ends.
        QTcpSocket silent;
        silent.connectToHost(QHostAddress::LocalHost, server->port());
        QVERIFY(silent.waitForConnected(2000));
        silent.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n");
        QTRY_COMPARE_WITH_TIMEOUT(server->connections().size(), 1, 5000);
        QSignalSpy stopped(server.get(), &ServerCoordinator::stopped);
        server->shutdown();
        QVERIFY(stopped.wait(10000));
    }
};

QTEST_GUILESS_MAIN(tst_Shutdown)
#include "tst_shutdown.moc"

#include "ServerFactory.h"
#include "TestServer.h"
#include "cluster/ClusterModule.h"
#include "cluster/PeerHandshake.h"
#include "wire/MsgPackCodec.h"

#include <QCborArray>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

#include <mutex>

using namespace wingman;
using namespace wingman::test;

namespace {

const QByteArray kClusterSecret("auth-test-cluster-secret");

ServerConfig nodeConfig(const QString &nodeId, const QByteArray &secret,
    const QList<const ServerCoordinator *> &peers = {})
{
    ServerConfig config = testConfig();
    config.nodeId = nodeId;
    config.clusterSecret = secret;
    for (const ServerCoordinator *peer : peers)
        config.peers.append(QStringLiteral("127.0.0.1:%1").arg(peer->clusterPort()));
    return config;
}

bool knows(const ServerCoordinator &node, const QString &nodeId)
{
    for (const cluster::MemberInfo &info : node.cluster()->memberInfos()) {
        if (info.nodeId == nodeId)
            return true;
    }
    return false;
}

// Cluster warnings, collected from every node of the process.
QStringList g_warnings;
std::mutex g_warningsMutex;
QtMessageHandler g_previousHandler = nullptr;

void collectWarnings(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type == QtWarningMsg && context.category
        && QByteArrayView(context.category) == "wingman.cluster") {
        const std::lock_guard lock(g_warningsMutex);
        g_warnings.append(message);
    }
    g_previousHandler(type, context, message);
}

bool warned(const QString &a, const QString &b)
{
    const std::lock_guard lock(g_warningsMutex);
    return std::any_of(g_warnings.cbegin(), g_warnings.cend(),
        [&](const QString &line) { return line.contains(a) && line.contains(b); });
}

// A hand-driven peer: raw frames on a cluster port.
class RawPeer
{
public:
    bool connectTo(quint16 port)
    {
        m_socket.connectToHost(QStringLiteral("127.0.0.1"), port);
        return m_socket.waitForConnected(5000);
    }
    void send(const QCborMap &frame)
    {
        const QByteArray body = wire::MsgPackCodec::encode(frame);
        QByteArray header(4, Qt::Uninitialized);
        qToBigEndian<quint32>(quint32(body.size()), header.data());
        m_socket.write(header + body);
        m_socket.flush();
    }
    // The next frame of this type; skips others.
    std::optional<QCborMap> take(const QString &type, int timeoutMs = 5000)
    {
        std::optional<QCborMap> found;
        (void)QTest::qWaitFor(
            [&] {
                m_buffer.append(m_socket.readAll());
                while (m_buffer.size() >= 4) {
                    const quint32 length = qFromBigEndian<quint32>(m_buffer.constData());
                    if (m_buffer.size() < qsizetype(4 + length))
                        break;
                    const auto decoded = wire::MsgPackCodec::decode(m_buffer.mid(4, length));
                    m_buffer.remove(0, 4 + length);
                    const QCborMap frame = decoded.value.toMap();
                    if (frame.value(QStringLiteral("type")).toString() == type) {
                        found = frame;
                        return true;
                    }
                }
                return false;
            },
            timeoutMs);
        return found;
    }
    bool waitClosed(int timeoutMs = 5000)
    {
        return QTest::qWaitFor(
            [this] { return m_socket.state() == QAbstractSocket::UnconnectedState; }, timeoutMs);
    }

private:
    QTcpSocket m_socket;
    QByteArray m_buffer;
};

QCborMap hello(const QString &nodeId, int version = cluster::PeerHandshake::kProtocolVersion)
{
    return QCborMap { { QStringLiteral("type"), QStringLiteral("HELLO") },
        { QStringLiteral("nodeId"), nodeId }, { QStringLiteral("protocolVersion"), version },
        { QStringLiteral("runId"), QStringLiteral("run-1") }, { QStringLiteral("incarnation"), 1 },
        { QStringLiteral("nonce"), cluster::PeerHandshake::newNonce() },
        { QStringLiteral("clusterAddress"), QStringLiteral("127.0.0.1:1") },
        { QStringLiteral("clientEndpoint"), QStringLiteral("ws://127.0.0.1:2") },
        { QStringLiteral("tableVersion"), 0 }, { QStringLiteral("gcHorizon"), 0 } };
}

} // namespace

class tst_ClusterAuth : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { g_previousHandler = qInstallMessageHandler(collectWarnings); }
    void cleanupTestCase() { qInstallMessageHandler(g_previousHandler); }

    void wrongSecretNeverJoins()
    {
        auto a = startServer(nodeConfig(QStringLiteral("node-a"), kClusterSecret));
        QVERIFY(a);
        auto b = startServer(nodeConfig(QStringLiteral("node-b"), kClusterSecret, { a.get() }));
        QVERIFY(b);
        QTRY_VERIFY_WITH_TIMEOUT(a->cluster()->peerSocketCount() == 1, 5000);
        auto c = startServer(
            nodeConfig(QStringLiteral("node-c"), "not-the-cluster-secret", { a.get(), b.get() }));
        QVERIFY(c);
        QTRY_VERIFY_WITH_TIMEOUT(
            a->cluster()->handshakeFailures().value(QStringLiteral("authentication")) >= 1
                && b->cluster()->handshakeFailures().value(QStringLiteral("authentication")) >= 1,
            5000);
        QTRY_VERIFY_WITH_TIMEOUT(
            warned(QStringLiteral("[node-a]"), QStringLiteral("authentication failed"))
                && warned(QStringLiteral("[node-a]"), QStringLiteral("127.0.0.1:")),
            2000);
        // C keeps redialling; it must never be let in.
        QVERIFY(!QTest::qWaitFor(
            [&] {
                return knows(*a, QStringLiteral("node-c")) || knows(*b, QStringLiteral("node-c"))
                    || c->cluster()->peerSocketCount() > 0;
            },
            1500));
        QCOMPARE(a->cluster()->peerSocketCount(), 1);
        for (auto *node : { c.get(), b.get(), a.get() })
            QVERIFY(stopServer(*node));
    }

    void forgedHelloAckIsClosed()
    {
        auto a = startServer(nodeConfig(QStringLiteral("node-a"), kClusterSecret));
        QVERIFY(a);
        RawPeer forger;
        QVERIFY(forger.connectTo(a->clusterPort()));
        QVERIFY(forger.take(QStringLiteral("HELLO")));
        forger.send(hello(QStringLiteral("mallory")));
        QVERIFY(forger.take(QStringLiteral("HELLO_ACK")));
        QByteArray mac(32, Qt::Uninitialized);
        QRandomGenerator::global()->generate(
            reinterpret_cast<quint32 *>(mac.data()), reinterpret_cast<quint32 *>(mac.data()) + 8);
        forger.send(QCborMap { { QStringLiteral("type"), QStringLiteral("HELLO_ACK") },
            { QStringLiteral("mac"), mac } });
        const auto bye = forger.take(QStringLiteral("BYE"));
        QVERIFY(bye);
        QCOMPARE(bye->value(QStringLiteral("reason")).toString(),
            QStringLiteral("authentication failed"));
        QVERIFY(forger.waitClosed());
        QVERIFY(!knows(*a, QStringLiteral("mallory")));
        QVERIFY(a->cluster()->handshakeFailures().value(QStringLiteral("authentication")) >= 1);
        QVERIFY(stopServer(*a));
    }

    void frameBeforeAuthenticationCloses()
    {
        auto a = startServer(nodeConfig(QStringLiteral("node-a"), kClusterSecret));
        QVERIFY(a);
        RawPeer intruder;
        QVERIFY(intruder.connectTo(a->clusterPort()));
        intruder.send(QCborMap { { QStringLiteral("type"), QStringLiteral("MEMBERS") },
            { QStringLiteral("full"), true },
            { QStringLiteral("members"),
                QCborArray { QCborMap { { QStringLiteral("nodeId"), QStringLiteral("evil") },
                    { QStringLiteral("state"), QStringLiteral("up") },
                    { QStringLiteral("incarnation"), 1 } } } } });
        QVERIFY(intruder.waitClosed());
        QVERIFY(!knows(*a, QStringLiteral("evil")));
        QVERIFY(stopServer(*a));
    }

    void versionMismatchGetsBye()
    {
        auto a = startServer(nodeConfig(QStringLiteral("node-a"), kClusterSecret));
        QVERIFY(a);
        RawPeer old;
        QVERIFY(old.connectTo(a->clusterPort()));
        old.send(hello(QStringLiteral("node-old"), 1));
        const auto bye = old.take(QStringLiteral("BYE"));
        QVERIFY(bye);
        QVERIFY(bye->value(QStringLiteral("reason")).toString().contains(u"version"));
        QVERIFY(old.waitClosed());
        QCOMPARE(a->cluster()->handshakeFailures().value(QStringLiteral("version")), 1u);
        QVERIFY(stopServer(*a));
    }

    void noSecretRefusesEveryone()
    {
        auto a = startServer(nodeConfig(QStringLiteral("node-a"), {}));
        QVERIFY(a);
        RawPeer peer;
        QVERIFY(peer.connectTo(a->clusterPort()));
        peer.send(hello(QStringLiteral("node-x")));
        const auto bye = peer.take(QStringLiteral("BYE"));
        QVERIFY(bye);
        QCOMPARE(bye->value(QStringLiteral("reason")).toString(),
            QStringLiteral("authentication failed"));
        QVERIFY(peer.waitClosed());
        QVERIFY(stopServer(*a));
    }

    void peersWithoutSecretAreAStartupError()
    {
        ServerConfig config = nodeConfig(QStringLiteral("node-a"), {});
        config.peers = { QStringLiteral("127.0.0.1:1") };
        std::unique_ptr<ServerCoordinator> node(ServerFactory::create(config));
        QSignalSpy failed(node.get(), &ServerCoordinator::startupFailed);
        QVERIFY(failed.wait(5000));
        QVERIFY(failed.first().first().toString().contains(u"--cluster-secret"));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterAuth)
#include "tst_cluster_auth.moc"

// Who gets in and how connections end: the auth timeout, the connection caps, the per-address
// rate, and frames over the size limit, over real sockets.
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"

#include <QCborMap>
#include <QElapsedTimer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>
#include <QtEndian>

#include <arpa/inet.h>
#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
constexpr qint64 kMiB = 1024 * 1024;

// The code of the first close frame among the server's frames in data (AUTH_REQUIRED comes
// first), or -1.
int closeCodeIn(const QByteArray &data, QString *reason = nullptr)
{
    qsizetype at = 0;
    while (data.size() - at >= 2) {
        const auto opcode = uchar(data.at(at)) & 0x0f;
        qsizetype length = uchar(data.at(at + 1)) & 0x7f;
        qsizetype headerBytes = 2;
        if (length == 126) {
            if (data.size() - at < 4)
                break;
            length = (uchar(data.at(at + 2)) << 8) | uchar(data.at(at + 3));
            headerBytes = 4;
        }
        if (data.size() - at < headerBytes + length)
            break;
        if (opcode == 0x8 && length >= 2) {
            if (reason)
                *reason = QString::fromUtf8(data.mid(at + headerBytes + 2, length - 2));
            return (uchar(data.at(at + headerBytes)) << 8) | uchar(data.at(at + headerBytes + 1));
        }
        at += headerBytes + length;
    }
    return -1;
}

// Speaks just enough WebSocket over a bare QTcpSocket to read the close frame the server sends,
// code and reason as they are on the wire.
class CloseFrameReader : public QObject
{
public:
    bool connectTo(quint16 port)
    {
        connect(&m_socket, &QTcpSocket::readyRead, this, [this] { m_in += m_socket.readAll(); });
        connect(&m_socket, &QTcpSocket::disconnected, this, [this] { m_disconnected = true; });
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        if (!m_socket.waitForConnected(5000))
            return false;
        m_socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n");
        if (!QTest::qWaitFor([this] { return m_in.contains("\r\n\r\n"); }, 5000))
            return false;
        m_in.remove(0, m_in.indexOf("\r\n\r\n") + 4);
        return true;
    }

    // The code of the first close frame the server sent, once it and the end of the connection
    // are here; -1 when the connection ended without one.
    int waitForCloseCode(int timeoutMs = 10000)
    {
        if (!QTest::qWaitFor([this] { return m_disconnected; }, timeoutMs))
            return -1;
        m_in += m_socket.readAll();
        return closeCodeIn(m_in, &m_closeReason);
    }

    bool isDisconnected() const { return m_disconnected; }
    QString closeReason() const { return m_closeReason; }

private:
    QTcpSocket m_socket;
    QByteArray m_in;
    QString m_closeReason;
    bool m_disconnected = false;
};

// What a client that writes a whole frame before it reads saw. Many clients work this way; one
// whose write is reset typically reports 1006 without reading the close frame.
struct BlockingSend {
    qint64 written = 0;
    int writeError = 0; // errno of the failed write, 0 when every byte went out
    int closeCode = -1; // of the close frame read afterwards, -1 without one
};

// Connects to port with a plain blocking socket, upgrades, writes one binary frame of
// payloadBytes (mask 0) and then reads to the end. Runs on its own thread.
BlockingSend sendBlocking(quint16 port, qint64 payloadBytes)
{
    BlockingSend result;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
        return result;
    const QByteArray upgrade
        = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n";
    QByteArray in;
    char buffer[64 * 1024];
    if (::send(fd, upgrade.constData(), size_t(upgrade.size()), MSG_NOSIGNAL) != upgrade.size())
        return result;
    while (!in.contains("\r\n\r\n")) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
            ::close(fd);
            return result;
        }
        in.append(buffer, n);
    }
    in.remove(0, in.indexOf("\r\n\r\n") + 4);

    QByteArray frame;
    frame.append(char(0x82));
    frame.append(char(0x80 | 127));
    const quint64 length = qToBigEndian<quint64>(quint64(payloadBytes));
    frame.append(reinterpret_cast<const char *>(&length), 8);
    frame.append(QByteArray(4, '\0'));
    frame.append(QByteArray(payloadBytes, 'x'));
    while (result.written < frame.size()) {
        const ssize_t n = ::send(fd, frame.constData() + result.written,
            size_t(frame.size() - result.written), MSG_NOSIGNAL);
        if (n <= 0) {
            result.writeError = errno;
            break;
        }
        result.written += n;
    }
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        in.append(buffer, n);
    }
    ::close(fd);
    result.closeCode = closeCodeIn(in);
    return result;
}

bool pingPong(RawClient &client)
{
    client.send(QCborMap { { kType, QStringLiteral("PING") } });
    return client.take(QStringLiteral("PONG")).has_value();
}

} // namespace

class tst_Admission : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;

    bool start(const ServerConfig &config)
    {
        m_server = startServer(config);
        return m_server != nullptr;
    }

    std::unique_ptr<RawClient> authenticated(const QString &user = QStringLiteral("user-1"))
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(m_server->port(), TestTokens::userToken(kTestSecret, user)))
            return nullptr;
        return c;
    }

    // Opens a connection and waits for the server to close it: the close frame's code, read off
    // the wire (QWebSocket reports 1013, newer than its table of codes, as 1002), or -1.
    int refusedCode()
    {
        CloseFrameReader client;
        if (!client.connectTo(m_server->port()))
            return -1;
        const int code = client.waitForCloseCode();
        if (code == 1013 && client.closeReason() != QStringLiteral("Try Again Later"))
            return -2;
        return code;
    }

private Q_SLOTS:
    void cleanup()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void silentSocketIsClosedAfterTheAuthTimeout()
    {
        ServerConfig config = testConfig();
        config.authTimeoutMs = 300;
        QVERIFY(start(config));
        // Authenticated first: by the time the silent one is closed, its deadline has passed too.
        auto member = authenticated();
        QVERIFY(member);
        RawClient silent;
        QVERIFY(silent.connectTo(m_server->port()));
        QVERIFY(silent.take(QStringLiteral("AUTH_REQUIRED")));
        QVERIFY(silent.waitForDisconnected(5000));
        QCOMPARE(silent.closeCode(), 4001);
        QCOMPARE(silent.closeReason(), QStringLiteral("Auth timeout"));
        QCOMPARE(m_server->counters().authTimeouts, quint64(1));

        QVERIFY(member->isConnected());
        QVERIFY(pingPong(*member));
    }

    void connectionsBeyondTheCapAreRefused()
    {
        ServerConfig config = testConfig();
        config.maxConnections = 2;
        QVERIFY(start(config));
        auto first = authenticated(QStringLiteral("a"));
        auto second = authenticated(QStringLiteral("b"));
        QVERIFY(first && second);

        QCOMPARE(refusedCode(), 1013);
        QCOMPARE(m_server->counters().refusedMaxConnections, quint64(1));
        QVERIFY(pingPong(*first));
        QVERIFY(pingPong(*second));

        // A freed place is taken again.
        first->close();
        QVERIFY(first->waitForDisconnected());
        QTRY_COMPARE(m_server->connections().size(), 1);
        QVERIFY(authenticated(QStringLiteral("c")));
    }

    void unauthenticatedBeyondTheirCapAreRefused()
    {
        ServerConfig config = testConfig();
        config.maxPendingAuth = 1;
        QVERIFY(start(config));
        auto member = authenticated();
        QVERIFY(member);
        RawClient pending;
        QVERIFY(pending.connectTo(m_server->port()));
        QVERIFY(pending.take(QStringLiteral("AUTH_REQUIRED")));

        QCOMPARE(refusedCode(), 1013);
        QCOMPARE(m_server->counters().refusedMaxPendingAuth, quint64(1));

        // Once the pending one authenticates, a newcomer fits again.
        pending.sendAuth(TestTokens::userToken(kTestSecret, QStringLiteral("late")));
        QVERIFY(pending.take(QStringLiteral("AUTH_ACK")));
        QVERIFY(authenticated(QStringLiteral("next")));
        QVERIFY(pingPong(*member));
    }

    void oneAddressOpeningTooFastIsRefused()
    {
        ServerConfig config = testConfig();
        config.maxConnectionsPerIpPerSecond = 3;
        QVERIFY(start(config));
        QElapsedTimer sinceFirst;
        sinceFirst.start();
        std::vector<std::unique_ptr<RawClient>> admitted;
        for (int i = 0; i < 3; ++i) {
            admitted.push_back(std::make_unique<RawClient>());
            QVERIFY(admitted.back()->connectTo(m_server->port()));
            QVERIFY(admitted.back()->take(QStringLiteral("AUTH_REQUIRED")));
        }
        QCOMPARE(refusedCode(), 1013);
        QCOMPARE(m_server->counters().refusedIpRate, quint64(1));
        for (const auto &client : admitted)
            QVERIFY(client->isConnected());
        // The window slides: a second after the first, the address may connect again.
        QTRY_VERIFY_WITH_TIMEOUT(sinceFirst.elapsed() > 1100, 5000);
        QVERIFY(authenticated(QStringLiteral("later")));
    }

    void oversizeFramesGetACloseFrame_data()
    {
        QTest::addColumn<qint64>("maxFrameBytes");
        QTest::addColumn<qint64>("frameBytes");
        QTest::newRow("10 MiB to a 1 MiB node") << kMiB << 10 * kMiB;
        QTest::newRow("48 MiB to a 1 MiB node") << kMiB << 48 * kMiB;
        QTest::newRow("just over 1 MiB") << kMiB << kMiB + 1;
        QTest::newRow("16 MiB + 1 to the default") << ServerConfig().maxFrameBytes << 16 * kMiB + 1;
    }

    void oversizeFramesGetACloseFrame()
    {
        QFETCH(qint64, maxFrameBytes);
        QFETCH(qint64, frameBytes);
        ServerConfig config = testConfig();
        config.maxFrameBytes = maxFrameBytes;
        QVERIFY(start(config));
        auto bystander = authenticated();
        QVERIFY(bystander);

        BlockingSend sent;
        std::unique_ptr<QThread> sender(
            QThread::create([&sent, port = m_server->port(), frameBytes] {
                sent = sendBlocking(port, frameBytes);
            }));
        sender->start();
        QTRY_VERIFY_WITH_TIMEOUT(sender->isFinished(), 20000);
        // The server reads the rest and discards it instead of resetting the connection.
        QCOMPARE(sent.writeError, 0);
        QCOMPARE(sent.closeCode, 1009);
        QVERIFY(pingPong(*bystander));
    }

    // The same through a WebSocket client, which sends a large message in several frames.
    void oversizeMessageFromAWebSocketClientGets1009()
    {
        ServerConfig config = testConfig();
        config.maxFrameBytes = kMiB;
        QVERIFY(start(config));
        auto bystander = authenticated();
        QVERIFY(bystander);
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        client.sendBinary(QByteArray(10 * kMiB, 'x'));
        QVERIFY(client.waitForDisconnected(10000));
        QCOMPARE(client.closeCode(), 1009);
        QVERIFY(pingPong(*bystander));
    }
};

QTEST_GUILESS_MAIN(tst_Admission)
#include "tst_admission.moc"

// Who gets in and how connections end: the auth timeout, the connection caps and the per-address
// rate, over real sockets.
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"

#include <QCborMap>
#include <QElapsedTimer>
#include <QTcpSocket>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");

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
};

QTEST_GUILESS_MAIN(tst_Admission)
#include "tst_admission.moc"

#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"

#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

class tst_Shutdown : public QObject
{
    Q_OBJECT

private Q_SLOTS:
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

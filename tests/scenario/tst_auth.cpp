#include "RawClient.h"
#include "ServerFixture.h"
#include "TestTokens.h"
#include "protocol/Wire.h"

#include <QDateTime>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

QCborMap message(const char *type)
{
    QCborMap m;
    m.insert(QStringLiteral("type"), QString::fromLatin1(type));
    return m;
}

QJsonObject claims(qint64 expOffsetSecs = 3600)
{
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    return QJsonObject { { "sub", "user-7" }, { "roles", QJsonArray { "USER", "EDITOR" } },
        { "iat", now }, { "exp", now + expOffsetSecs } };
}

} // namespace

class tst_Auth : public QObject
{
    Q_OBJECT

    ServerFixture m_server;

private Q_SLOTS:
    void init() { QVERIFY(m_server.start()); }
    void cleanup() { QVERIFY(m_server.stop()); }

    void authRequiredComesFirst()
    {
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        QCOMPARE(client.receivedTypes().first(), QStringLiteral("AUTH_REQUIRED"));
        QTRY_COMPARE(m_server->connections().size(), 1);
        QCOMPARE(m_server->connections().first().authState, auth::AuthState::Pending);
    }

    void goodTokenIsAcknowledged()
    {
        RawClient client;
        QSignalSpy stateChanged(&m_server.node(), &ServerCoordinator::connectionAuthStateChanged);
        QVERIFY(client.connectTo(m_server->port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        client.sendAuth(TestTokens::hs256(kTestSecret, claims()));
        QVERIFY(client.take(QStringLiteral("AUTH_ACK")));
        QTRY_COMPARE(stateChanged.count(), 1);

        const auto connections = m_server->connections();
        QCOMPARE(connections.size(), 1);
        QCOMPARE(connections.first().authState, auth::AuthState::Authenticated);
        QCOMPARE(connections.first().principal.userId, QStringLiteral("user-7"));
        QCOMPARE(connections.first().principal.roles, (QStringList { "USER", "EDITOR" }));
        QVERIFY(client.isConnected());
    }

    void repeatedAuthIsHarmless()
    {
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            m_server->port(), TestTokens::hs256(kTestSecret, claims())));
        client.sendAuth(TestTokens::hs256(kTestSecret, claims()));
        QVERIFY(client.take(QStringLiteral("AUTH_ACK")));
        QVERIFY(client.isConnected());
    }

    void badTokenFailsAndCloses_data()
    {
        QTest::addColumn<QByteArray>("token");
        QTest::newRow("wrong signature") << TestTokens::hs256("another-secret", claims());
        QTest::newRow("expired") << TestTokens::hs256(kTestSecret, claims(-60));
        QTest::newRow("alg none") << TestTokens::withAlgNone(claims());
        QTest::newRow("garbage") << QByteArray("not.a.jwt");
        QTest::newRow("empty") << QByteArray();
    }

    void badTokenFailsAndCloses()
    {
        QFETCH(QByteArray, token);
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        client.sendAuth(token);
        const auto fail = client.take(QStringLiteral("AUTH_FAIL"));
        QVERIFY(fail);
        QVERIFY(!fail->value(QStringLiteral("error")).toString().isEmpty());
        QVERIFY(client.waitForDisconnected());
        QCOMPARE(client.closeCode(), 4001);
        QVERIFY(!client.has(QStringLiteral("AUTH_ACK")));
    }

    void failedStateIsVisibleBeforeTheSocketGoes()
    {
        RawClient client;
        QSignalSpy stateChanged(&m_server.node(), &ServerCoordinator::connectionAuthStateChanged);
        QVERIFY(client.connectTo(m_server->port()));
        client.sendAuth("garbage");
        QVERIFY(stateChanged.wait(5000));
        QCOMPARE(stateChanged.first().at(1).value<auth::AuthState>(), auth::AuthState::Failed);
    }

    void opBeforeAuthCloses4001()
    {
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        QCborMap op = message("CLIENT_OP");
        op.insert(QStringLiteral("payload"),
            QCborMap { { QStringLiteral("mapName"), QStringLiteral("m") },
                { QStringLiteral("key"), QStringLiteral("k") } });
        client.send(op);
        QVERIFY(client.waitForDisconnected());
        QCOMPARE(client.closeCode(), 4001);
    }

    void pingPongBeforeAndAfterAuth()
    {
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        QCborMap ping = message("PING");
        ping.insert(QStringLiteral("timestamp"), QDateTime::currentMSecsSinceEpoch());
        client.send(ping);
        auto pong = client.take(QStringLiteral("PONG"));
        QVERIFY(pong);
        QVERIFY(pong->value(QStringLiteral("serverTime")).toInteger() > 1'600'000'000'000);
        // A numeric timestamp in PONG would poison the TopGun client's HLC.
        QVERIFY(!pong->contains(QStringLiteral("timestamp")));

        client.sendAuth(TestTokens::hs256(kTestSecret, claims()));
        QVERIFY(client.take(QStringLiteral("AUTH_ACK")));
        client.send(ping);
        QVERIFY(client.take(QStringLiteral("PONG")));
    }

    void jsonTextAuthWorks()
    {
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        client.sendText(QStringLiteral("{\"type\":\"AUTH\",\"token\":\"%1\"}")
                            .arg(QString::fromUtf8(TestTokens::hs256(kTestSecret, claims()))));
        QVERIFY(client.take(QStringLiteral("AUTH_ACK")));
    }

    void payloadTokenIsAccepted()
    {
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        QCborMap auth = message("AUTH");
        auth.insert(QStringLiteral("payload"),
            QCborMap { { QStringLiteral("token"),
                QString::fromUtf8(TestTokens::hs256(kTestSecret, claims())) } });
        client.send(auth);
        QVERIFY(client.take(QStringLiteral("AUTH_ACK")));
    }

    void binaryGarbageCloses1002()
    {
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        client.sendBinary(QByteArray::fromHex("c1c1c1ffee"));
        QVERIFY(client.waitForDisconnected());
        QCOMPARE(client.closeCode(), 1002);
    }

    void schemaInvalidMessageGetsError400AndStaysOpen_data()
    {
        QTest::addColumn<QByteArray>("frame");
        QTest::newRow("no type") << wire::MsgPackCodec::encode(
            QCborMap { { QStringLiteral("token"), QStringLiteral("x") } });
        QTest::newRow("type not a string")
            << wire::MsgPackCodec::encode(QCborMap { { QStringLiteral("type"), 42 } });
        QTest::newRow("not a map") << wire::MsgPackCodec::encode(QCborArray { 1, 2, 3 });
        QTest::newRow("auth without token") << wire::MsgPackCodec::encode(
            QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH") } });
    }

    void schemaInvalidMessageGetsError400AndStaysOpen()
    {
        QFETCH(QByteArray, frame);
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        client.sendBinary(frame);
        const auto error = client.take(QStringLiteral("ERROR"));
        QVERIFY(error);
        QCOMPARE(error->value(QStringLiteral("payload"))
                     .toMap()
                     .value(QStringLiteral("code"))
                     .toInteger(),
            400);
        // Still usable: authenticate on the same socket.
        client.sendAuth(TestTokens::hs256(kTestSecret, claims()));
        QVERIFY(client.take(QStringLiteral("AUTH_ACK")));
    }

    void unknownTypeAfterAuthGetsError400()
    {
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(
            m_server->port(), TestTokens::hs256(kTestSecret, claims())));
        client.send(message("NO_SUCH_MESSAGE"));
        const auto error = client.take(QStringLiteral("ERROR"));
        QVERIFY(error);
        QCOMPARE(error->value(QStringLiteral("payload"))
                     .toMap()
                     .value(QStringLiteral("code"))
                     .toInteger(),
            400);
        QVERIFY(client.isConnected());
    }

    void oversizedFrameIsRefused()
    {
        ServerConfig config = testConfig();
        config.maxFrameBytes = 1024;
        QVERIFY(m_server.start(config));
        RawClient client;
        QVERIFY(client.connectTo(m_server->port()));
        client.sendBinary(QByteArray(4096, 'x'));
        QVERIFY(client.waitForDisconnected());
        QCOMPARE(client.closeCode(), 1009);
    }
};

QTEST_GUILESS_MAIN(tst_Auth)
#include "tst_auth.moc"

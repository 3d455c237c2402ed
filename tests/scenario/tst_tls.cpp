// Client TLS: --tls-cert/--tls-key serve wss:// on the client port and HTTPS on the metrics port,
// with certificates made by the openssl command line for each run.
#include "RawClient.h"
#include "ServerFactory.h"
#include "TestCertificates.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"
#include "crdt/LwwMap.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>

using namespace wingman;
using namespace wingman::client;
using namespace wingman::test;

namespace {

struct HttpsReply {
    int status = 0;
    QByteArray body;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
};

// GET url trusting the certificates in tls; status 0 and the error on a transport failure.
HttpsReply get(const QUrl &url, const QList<QSslCertificate> &trusted)
{
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates(trusted);
    request.setSslConfiguration(tls);
    request.setTransferTimeout(10000);
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!reply->isFinished() && !finished.wait(15000))
        return { 0, {}, QNetworkReply::TimeoutError };
    return { reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll(),
        reply->error() };
}

} // namespace

class tst_Tls : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    TestCertificates m_certs { m_dir.path() };
    QList<QSslCertificate> m_certificate; // the server's, self-signed for 127.0.0.1
    std::unique_ptr<ServerCoordinator> m_server;

    QString path(const QString &file) const { return m_certs.path(file); }

    ServerConfig tlsConfig(const QString &name) const
    {
        ServerConfig config = testConfig();
        config.tlsCert = path(name + ".pem");
        config.tlsKey = path(name + ".key");
        config.metricsPort = 0;
        return config;
    }

    QUrl wssUrl() const
    {
        return QUrl(QStringLiteral("wss://127.0.0.1:%1/").arg(m_server->port()));
    }

    std::unique_ptr<SyncEngine> engine(
        const QString &user, const std::function<void(SyncEngineConfig &)> &trust)
    {
        SyncEngineConfig config;
        config.url = wssUrl();
        config.nodeId = user;
        config.reconnectBaseMs = 100;
        config.reconnectMaxMs = 500;
        trust(config);
        auto client = std::make_unique<SyncEngine>(std::move(config));
        client->setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, user)));
        return client;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (TestCertificates::opensslPath().isEmpty() || !QSslSocket::supportsSsl())
            QSKIP("needs the openssl command and a TLS backend");
        QVERIFY(m_dir.isValid());
        QVERIFY(m_certs.selfSigned(QStringLiteral("server")));
        QVERIFY(m_certs.selfSigned(QStringLiteral("other")));
        m_certificate = QSslCertificate::fromPath(path(QStringLiteral("server.pem")));
        QCOMPARE(m_certificate.size(), 1);
        m_server = startServer(tlsConfig(QStringLiteral("server")));
        QVERIFY(m_server);
    }

    void cleanupTestCase()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
    }

    void syncEngineTrustsTheCa()
    {
        auto client = engine(QStringLiteral("ca-user"),
            [&](SyncEngineConfig &config) { config.caCertificates = m_certificate; });
        client->registerLwwMap(QStringLiteral("tls"));
        client->start();
        QTRY_COMPARE_WITH_TIMEOUT(client->state(), SyncEngine::State::Connected, 15000);
        client->put(QStringLiteral("tls"), QStringLiteral("over-wss"), 42);
        QTRY_VERIFY_WITH_TIMEOUT(m_server->getMap(QStringLiteral("tls"))
                && m_server->getMap(QStringLiteral("tls"))->get(QStringLiteral("over-wss"))
                    == QCborValue(42),
            15000);
    }

    void syncEnginePinsTheSelfSignedCertificate()
    {
        auto client = engine(QStringLiteral("pin-user"),
            [&](SyncEngineConfig &config) { config.pinnedCertificates = m_certificate; });
        client->start();
        QTRY_COMPARE_WITH_TIMEOUT(client->state(), SyncEngine::State::Connected, 15000);
    }

    void unknownCertificateIsRefused()
    {
        const auto other = QSslCertificate::fromPath(path(QStringLiteral("other.pem")));
        auto untrusting = engine(QStringLiteral("untrusting"), [](SyncEngineConfig &) {});
        auto wrongPin = engine(QStringLiteral("wrong-pin"),
            [&](SyncEngineConfig &config) { config.pinnedCertificates = other; });
        QSignalSpy untrustingStates(untrusting.get(), &SyncEngine::stateChanged);
        QSignalSpy wrongPinStates(wrongPin.get(), &SyncEngine::stateChanged);
        untrusting->start();
        wrongPin->start();
        // Each failed handshake ends in a backoff before the next attempt.
        const auto backedOff = [](const QSignalSpy &states) {
            for (const QList<QVariant> &change : states) {
                if (change.first().value<SyncEngine::State>() == SyncEngine::State::Backoff)
                    return true;
            }
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(backedOff(untrustingStates) && backedOff(wrongPinStates), 15000);
        for (const QList<QVariant> &change : std::as_const(untrustingStates))
            QVERIFY(change.first().value<SyncEngine::State>() != SyncEngine::State::Connected);
        for (const QList<QVariant> &change : std::as_const(wrongPinStates))
            QVERIFY(change.first().value<SyncEngine::State>() != SyncEngine::State::Connected);
    }

    void rawWssClientAuthenticates()
    {
        RawClient client;
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(m_certificate);
        client.socket().setSslConfiguration(tls);
        QVERIFY(client.connectToUrl(wssUrl(), 15000));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED"), 15000));
        client.sendAuth(TestTokens::userToken(kTestSecret));
        QVERIFY(client.take(QStringLiteral("AUTH_ACK"), 15000));
    }

    void plainWebSocketIsNotServed()
    {
        RawClient client;
        QVERIFY(!client.connectTo(m_server->port(), 5000));
    }

    void metricsOverHttps()
    {
        const HttpsReply metrics
            = get(QUrl(QStringLiteral("https://127.0.0.1:%1/metrics").arg(m_server->metricsPort())),
                m_certificate);
        QCOMPARE(metrics.error, QNetworkReply::NoError);
        QCOMPARE(metrics.status, 200);
        QVERIFY(metrics.body.contains("wingman_"));
        const HttpsReply plain
            = get(QUrl(QStringLiteral("http://127.0.0.1:%1/metrics").arg(m_server->metricsPort())),
                m_certificate);
        QVERIFY(plain.status != 200);
    }

    void monitorFeedOverWss()
    {
        QWebSocket feed;
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(m_certificate);
        feed.setSslConfiguration(tls);
        QStringList frames;
        connect(&feed, &QWebSocket::textMessageReceived, this,
            [&frames](const QString &text) { frames.append(text); });
        const QByteArray admin
            = TestTokens::userToken(kTestSecret, QStringLiteral("ops"), { "ADMIN" });
        feed.open(QUrl(QStringLiteral("wss://127.0.0.1:%1/feed?token=%2")
                           .arg(m_server->metricsPort())
                           .arg(QString::fromLatin1(admin))));
        QTRY_VERIFY_WITH_TIMEOUT(!frames.isEmpty(), 15000);
        QVERIFY2(frames.first().contains(u"\"snapshot\""), qPrintable(frames.first()));
        feed.close();
    }

    void badCertificateFailsStartup_data()
    {
        QTest::addColumn<QString>("cert");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("named");
        QTest::newRow("key as certificate") << "server.key"
                                            << "server.key"
                                            << "tlsCert";
        QTest::newRow("certificate as key") << "server.pem"
                                            << "server.pem"
                                            << "tlsKey";
        QTest::newRow("another certificate's key") << "server.pem"
                                                   << "other.key"
                                                   << "tlsKey";
        QTest::newRow("no key") << "server.pem"
                                << ""
                                << "--tls-key";
    }

    void badCertificateFailsStartup()
    {
        QFETCH(QString, cert);
        QFETCH(QString, key);
        QFETCH(QString, named);
        ServerConfig config = testConfig();
        config.tlsCert = path(cert);
        config.tlsKey = key.isEmpty() ? QString() : path(key);
        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
        QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
        QVERIFY(failed.wait(10000));
        const QString reason = failed.first().first().toString();
        QVERIFY2(reason.contains(named), qPrintable(reason));
        QVERIFY(!server->isReady());
    }
};

QTEST_GUILESS_MAIN(tst_Tls)
#include "tst_tls.moc"

// The monitor's feed client against a node whose metrics port serves TLS (--tls-cert/--tls-key),
// with certificates made by the openssl command line for each run.
#include "ConnectionsModel.h"
#include "EventsModel.h"
#include "FeedClient.h"
#include "NodeMonitor.h"
#include "RawClient.h"
#include "TestCertificates.h"
#include "TestServer.h"
#include "TestTokens.h"

#include <QSignalSpy>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>

using namespace wingman;
using namespace wingman::monitor;
using namespace wingman::test;

class tst_MonitorTls : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    TestCertificates m_certs { m_dir.path() };
    std::unique_ptr<ServerCoordinator> m_server;

    QString path(const QString &file) const { return m_certs.path(file); }

    QUrl endpoint(const QString &scheme) const
    {
        return QUrl(QStringLiteral("%1://127.0.0.1:%2").arg(scheme).arg(m_server->metricsPort()));
    }

    // A monitor of the node trusting the authorities in caFile (none when empty).
    std::unique_ptr<NodeMonitor> watch(const QString &caFile)
    {
        auto monitor = std::make_unique<NodeMonitor>(endpoint(QStringLiteral("https")),
            TestTokens::userToken(kTestSecret, QStringLiteral("operator"), { "ADMIN" }));
        monitor->feed().setBackoff(100, 200);
        if (!caFile.isEmpty()) {
            QString error;
            const QList<QSslCertificate> authorities = loadCaCertificates(path(caFile), &error);
            if (authorities.isEmpty())
                qWarning("%s", qPrintable(error));
            monitor->feed().setCaCertificates(authorities);
        }
        monitor->start();
        return monitor;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (TestCertificates::opensslPath().isEmpty() || !QSslSocket::supportsSsl())
            QSKIP("needs the openssl command and a TLS backend");
        QVERIFY(m_dir.isValid());
        QVERIFY(m_certs.selfSigned(QStringLiteral("node")));
        QVERIFY(m_certs.selfSigned(QStringLiteral("other")));
        ServerConfig config = testConfig();
        config.tlsCert = path(QStringLiteral("node.pem"));
        config.tlsKey = path(QStringLiteral("node.key"));
        config.metricsPort = 0;
        config.monitorFeedIntervalMs = 200;
        config.nodeId = QStringLiteral("node-tls");
        m_server = startServer(config, 20000);
        QVERIFY(m_server);
    }

    void cleanupTestCase()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server, 20000));
    }

    void endpointFromText_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("defaultPort");
        QTest::addColumn<QString>("endpoint");
        QTest::newRow("host:port") << "node-a:9090" << 0 << "http://node-a:9090";
        QTest::newRow("http") << "http://node-a:9090" << 0 << "http://node-a:9090";
        QTest::newRow("https") << "https://node-a:9443" << 0 << "https://node-a:9443";
        QTest::newRow("trailing slash") << " https://node-a:9443/ " << 0 << "https://node-a:9443";
        QTest::newRow("IPv6") << "https://[::1]:9443" << 0 << "https://[::1]:9443";
        QTest::newRow("port from the field") << "https://node-a" << 9443 << "https://node-a:9443";
        QTest::newRow("own port wins") << "https://node-a:9443" << 9090 << "https://node-a:9443";
        QTest::newRow("no port") << "node-a" << 0 << "";
        QTest::newRow("other scheme") << "ftp://node-a:9090" << 0 << "";
        QTest::newRow("feed path") << "https://node-a:9443/feed" << 0 << "";
        QTest::newRow("user") << "https://me@node-a:9443" << 0 << "";
        QTest::newRow("empty") << "" << 9090 << "";
    }

    void endpointFromText()
    {
        QFETCH(QString, text);
        QFETCH(int, defaultPort);
        QFETCH(QString, endpoint);
        const QUrl url = NodeMonitor::endpointFromText(text, quint16(defaultPort));
        QCOMPARE(url.isValid() ? url.toString() : QString(), endpoint);
    }

    void caFileWithoutCertificatesSaysWhy()
    {
        QString error;
        QVERIFY(loadCaCertificates(path(QStringLiteral("missing.pem")), &error).isEmpty());
        QVERIFY2(error.contains(u"missing.pem"), qPrintable(error));
        error.clear();
        QVERIFY(loadCaCertificates(path(QStringLiteral("node.key")), &error).isEmpty());
        QVERIFY2(error.contains(u"no PEM certificate"), qPrintable(error));
        error.clear();
        QCOMPARE(loadCaCertificates(path(QStringLiteral("node.pem")), &error).size(), 1);
        QVERIFY(error.isEmpty());
    }

    void feedOverTlsWithTheCaFile()
    {
        auto monitor = watch(QStringLiteral("node.pem"));
        QCOMPARE(monitor->feed().url().scheme(), QStringLiteral("wss"));
        QCOMPARE(monitor->address(),
            QStringLiteral("https://127.0.0.1:%1").arg(m_server->metricsPort()));
        QTRY_COMPARE_WITH_TIMEOUT(monitor->feedState(), FeedClient::State::Connected, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->status().nodeId, QStringLiteral("node-tls"), 20000);

        // Live: a client that connects afterwards shows up, and the stats keep coming.
        RawClient client;
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(QSslCertificate::fromPath(path(QStringLiteral("node.pem"))));
        client.socket().setSslConfiguration(tls);
        QVERIFY(client.connectToUrl(
            QUrl(QStringLiteral("wss://127.0.0.1:%1/").arg(m_server->port())), 20000));
        QTRY_COMPARE_WITH_TIMEOUT(monitor->connections()->rowCount(), 1, 20000);
        QSignalSpy sampled(monitor.get(), &NodeMonitor::sampled);
        QTRY_VERIFY_WITH_TIMEOUT(sampled.size() >= 2, 20000);
        QCOMPARE(monitor->feedState(), FeedClient::State::Connected);
        QCOMPARE(monitor->events()->countOf(QStringLiteral("feed-tls-error")), 0);
    }

    void untrustedCertificateIsAClearError_data()
    {
        QTest::addColumn<QString>("caFile");
        QTest::newRow("system authorities only") << QString();
        QTest::newRow("another authority") << QStringLiteral("other.pem");
    }

    void untrustedCertificateIsAClearError()
    {
        QFETCH(QString, caFile);
        auto monitor = watch(caFile);
        QSignalSpy states(&monitor->feed(), &FeedClient::stateChanged);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->feedState(), FeedClient::State::TlsFailed, 20000);
        const QString error = monitor->feed().lastError();
        QVERIFY2(error.startsWith(
                     QStringLiteral("TLS error with 127.0.0.1:%1: ").arg(m_server->metricsPort())),
            qPrintable(error));
        QVERIFY2(error.contains(QSslError(QSslError::SelfSignedCertificate).errorString()),
            qPrintable(error));
        QCOMPARE(feedStateName(monitor->feedState()), QStringLiteral("TLS error"));
        QCOMPARE(monitor->status().state, QStringLiteral("unreachable"));

        // Retried, in case the node's certificate is replaced, but reported once.
        const auto tlsFailures = [&states] {
            return std::count_if(states.cbegin(), states.cend(), [](const QList<QVariant> &state) {
                return state.at(0).value<FeedClient::State>() == FeedClient::State::TlsFailed;
            });
        };
        QTRY_VERIFY_WITH_TIMEOUT(tlsFailures() >= 2, 20000);
        QCOMPARE(monitor->events()->countOf(QStringLiteral("feed-tls-error")), 1);
        QVERIFY(monitor->status().nodeId.isEmpty());
    }
};

QTEST_MAIN(tst_MonitorTls)
#include "tst_monitor_tls.moc"

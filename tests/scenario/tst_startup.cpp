#include "RawClient.h"
#include "ServerFactory.h"
#include "TestServer.h"

#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

bool tcpAccepts(quint16 port)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    return socket.waitForConnected(2000);
}

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

QStringList serverArguments(const QStringList &extra)
{
    return QStringList { "--host", "127.0.0.1", "--jwt-secret", kTestSecret } + extra;
}

} // namespace

class tst_Startup : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void portsAreZeroBeforeReadyAndRealAfter()
    {
        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(testConfig()));
        QCOMPARE(server->port(), quint16(0));
        QCOMPARE(server->clusterPort(), quint16(0));
        QVERIFY(!server->isReady());

        QSignalSpy ready(server.get(), &ServerCoordinator::ready);
        QVERIFY(ready.wait(5000));
        QVERIFY(server->isReady());
        QVERIFY(server->port() > 0);
        QVERIFY(server->clusterPort() > 0);
        QVERIFY(server->port() != server->clusterPort());

        RawClient client;
        QVERIFY(client.connectTo(server->port()));
        QVERIFY(tcpAccepts(server->clusterPort()));
        QVERIFY(stopServer(*server));
    }

    void readyOnceAndOnlyWhenBothListenersAccept()
    {
        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(testConfig()));
        int readyCount = 0;
        bool clientAccepted = false;
        bool clusterAccepted = false;
        connect(server.get(), &ServerCoordinator::ready, this, [&] {
            ++readyCount;
            clientAccepted = tcpAccepts(server->port());
            clusterAccepted = tcpAccepts(server->clusterPort());
        });
        QTRY_COMPARE_WITH_TIMEOUT(readyCount, 1, 5000);
        QVERIFY(clientAccepted);
        QVERIFY(clusterAccepted);

        // Traffic after ready must not re-announce it.
        RawClient client;
        QVERIFY(client.connectTo(server->port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        QCOMPARE(readyCount, 1);
        QVERIFY(stopServer(*server));
        QCOMPARE(readyCount, 1);
    }

    void explicitPortIsHonoured()
    {
        ServerConfig config = testConfig();
        config.port = freePort();
        QVERIFY(config.port != 0);
        auto server = startServer(config);
        QVERIFY(server);
        QCOMPARE(server->port(), config.port);
        QVERIFY(stopServer(*server));
    }

    void portInUseFailsStartup_data()
    {
        QTest::addColumn<bool>("clusterSide");
        QTest::newRow("client port") << false;
        QTest::newRow("cluster port") << true;
    }

    void portInUseFailsStartup()
    {
        QFETCH(bool, clusterSide);
        QTcpServer occupier;
        QVERIFY(occupier.listen(QHostAddress::LocalHost, 0));
        ServerConfig config = testConfig();
        (clusterSide ? config.clusterPort : config.port) = occupier.serverPort();

        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
        QSignalSpy ready(server.get(), &ServerCoordinator::ready);
        QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
        QVERIFY(failed.wait(5000));
        const QString reason = failed.first().first().toString();
        QVERIFY2(reason.contains(QString::number(occupier.serverPort())), qPrintable(reason));
        QVERIFY2(
            reason.contains(QStringLiteral("in use"), Qt::CaseInsensitive), qPrintable(reason));
        QCOMPARE(ready.count(), 0);
        QCOMPARE(server->state(), ServerCoordinator::State::Failed);
        QCOMPARE(server->port(), quint16(0));
        QCOMPARE(failed.count(), 1);
    }

    void badHostFailsStartup()
    {
        ServerConfig config = testConfig();
        config.host = QStringLiteral("192.0.2.123"); // TEST-NET-1: never a local address
        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
        QSignalSpy ready(server.get(), &ServerCoordinator::ready);
        QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
        QVERIFY(failed.wait(5000));
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("192.0.2.123")));
        QCOMPARE(ready.count(), 0);
    }

    void badJwtKeyFailsStartup()
    {
        ServerConfig config = testConfig();
        config.jwtSecret = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n";
        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
        QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
        QVERIFY(failed.wait(5000));
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("jwtSecret")));
    }

    void twoNodesInOneProcessGetDistinctPorts()
    {
        auto a = startServer();
        auto b = startServer();
        QVERIFY(a && b);
        const QSet<quint16> ports { a->port(), a->clusterPort(), b->port(), b->clusterPort() };
        QCOMPARE(ports.size(), 4);
        QVERIFY(a->nodeId() != b->nodeId());
        RawClient ca, cb;
        QVERIFY(ca.connectTo(a->port()));
        QVERIFY(cb.connectTo(b->port()));
        QVERIFY(ca.take(QStringLiteral("AUTH_REQUIRED")));
        QVERIFY(cb.take(QStringLiteral("AUTH_REQUIRED")));
        QVERIFY(stopServer(*a));
        QVERIFY(stopServer(*b));
    }

    void binaryPrintsPortsAnswersAndStopsOnSigterm()
    {
        // No --storage: the default embedded SQLite file lands under the working directory.
        QTemporaryDir workDir;
        QVERIFY(workDir.isValid());
        QProcess process;
        process.setWorkingDirectory(workDir.path());
        process.setProgram(QStringLiteral(WINGMAN_SERVER_BINARY));
        process.setArguments(serverArguments({ "--port", "0", "--cluster-port", "0" }));
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start();
        QVERIFY(process.waitForStarted());

        QString output;
        const QRegularExpression readyLine(
            QStringLiteral("ready: client port (\\d+), cluster port (\\d+)"));
        QRegularExpressionMatch match;
        QVERIFY(QTest::qWaitFor(
            [&] {
                output += QString::fromUtf8(process.readAll());
                match = readyLine.match(output);
                return match.hasMatch();
            },
            10000));
        const quint16 port = match.captured(1).toUShort();
        const quint16 clusterPort = match.captured(2).toUShort();
        QVERIFY(port > 0 && clusterPort > 0 && port != clusterPort);

        RawClient client;
        QVERIFY(client.connectTo(port));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        QVERIFY(tcpAccepts(clusterPort));

        process.terminate();
        QVERIFY(client.take(QStringLiteral("SHUTDOWN_PENDING")));
        QTRY_COMPARE_WITH_TIMEOUT(process.state(), QProcess::NotRunning, 10000);
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 0);
        QVERIFY(QFileInfo::exists(workDir.filePath(QStringLiteral("wingman-data/wingman.db"))));
    }

    void binaryExitsOneWhenPortInUse()
    {
        QTcpServer occupier;
        QVERIFY(occupier.listen(QHostAddress::LocalHost, 0));
        QTemporaryDir workDir;
        QVERIFY(workDir.isValid());
        QProcess process;
        process.setWorkingDirectory(workDir.path());
        process.start(QStringLiteral(WINGMAN_SERVER_BINARY),
            serverArguments(
                { "--port", QString::number(occupier.serverPort()), "--cluster-port", "0" }));
        QVERIFY(process.waitForStarted());
        QVERIFY(process.waitForFinished(20000));
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 1);
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(err.contains(QString::number(occupier.serverPort())), qPrintable(err));
    }

    void binaryBadFlagExitsTwo_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("named");
        QTest::newRow("port") << QStringList { "--port", "99999" } << "--port";
        QTest::newRow("node id") << QStringList { "--node-id", "x:y" } << "--node-id";
        QTest::newRow("peers") << QStringList { "--peers", "nohostport" } << "--peers";
        QTest::newRow("production with the dev secret")
            << QStringList { "--production" } << "--jwt-secret";
        QTest::newRow("production with memory storage")
            << QStringList { "--production", "--jwt-secret", "s3cret", "--storage", "memory:" }
            << "--allow-memory-storage";
    }

    void binaryBadFlagExitsTwo()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QString, named);
        QProcess process;
        process.start(QStringLiteral(WINGMAN_SERVER_BINARY), arguments);
        QVERIFY(process.waitForFinished(20000));
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 2);
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(err.contains(named), qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(tst_Startup)
#include "tst_startup.moc"

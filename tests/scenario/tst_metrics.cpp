#include "HttpProbe.h"
#include "RawClient.h"
#include "ServerFactory.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "auth/JwtVerifier.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwRecord.h"
#include "metrics/MetricsModule.h"
#include "network/NetworkModule.h"
#include "protocol/MessageTypes.h"
#include "storage/MemoryStorage.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>

using namespace wingman;
using namespace wingman::test;

namespace {

// Samples of a Prometheus text exposition keyed by `name{labels}` (or `name`); an error names
// the first line that is neither a comment nor a sample, or a sample without a # TYPE.
struct Exposition {
    QHash<QString, double> samples;
    QHash<QString, QString> types;
    QString error;

    double value(const QString &key) const { return samples.value(key, -1); }
};

Exposition parsePrometheus(const QByteArray &text)
{
    static const QRegularExpression sampleLine(
        QStringLiteral(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")"
                       R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? )"
                       R"((-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)$)"));
    static const QRegularExpression helpLine(
        QStringLiteral(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$)"));
    static const QRegularExpression typeLine(QStringLiteral(
        R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)"));
    Exposition result;
    if (!text.endsWith('\n'))
        result.error = QStringLiteral("the text does not end with a newline");
    const QStringList lines = QString::fromUtf8(text).split(u'\n');
    for (qsizetype i = 0; i + 1 < lines.size() && result.error.isEmpty(); ++i) {
        const QString &line = lines.at(i);
        if (const auto type = typeLine.match(line); type.hasMatch()) {
            result.types.insert(type.captured(1), type.captured(2));
            continue;
        }
        if (helpLine.match(line).hasMatch())
            continue;
        const auto sample = sampleLine.match(line);
        if (!sample.hasMatch()) {
            result.error
                = QStringLiteral("line %1 is not a comment or a sample: '%2'").arg(i + 1).arg(line);
            break;
        }
        // A histogram's samples are its family name with _bucket, _sum or _count.
        static const QRegularExpression histogramPart(QStringLiteral("_(bucket|sum|count)$"));
        QString family = sample.captured(1);
        if (!result.types.contains(family)) {
            const QString base = QString(family).remove(histogramPart);
            if (result.types.value(base) == u"histogram")
                family = base;
        }
        if (!result.types.contains(family)) {
            result.error = QStringLiteral("line %1: %2 has no # TYPE before it")
                               .arg(i + 1)
                               .arg(sample.captured(1));
            break;
        }
        result.samples.insert(
            sample.captured(1) + sample.captured(2), sample.captured(3).toDouble());
    }
    return result;
}

Exposition scrape(quint16 port)
{
    const auto reply = httpGet(port, QStringLiteral("/metrics"));
    if (!reply)
        return { {}, {}, QStringLiteral("GET /metrics failed") };
    if (reply->status != 200)
        return { {}, {}, QStringLiteral("GET /metrics answered %1").arg(reply->status) };
    if (!reply->contentType.startsWith("text/plain"))
        return { {}, {},
            QStringLiteral("content type %1").arg(QString::fromLatin1(reply->contentType)) };
    return parsePrometheus(reply->body);
}

// What `promtool check metrics` prints for this exposition (errors and lint problems alike);
// empty when it finds nothing and exits 0.
QString promtoolProblems(const QString &promtool, const QByteArray &text)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(promtool, { QStringLiteral("check"), QStringLiteral("metrics") });
    if (!process.waitForStarted(5000))
        return QStringLiteral("cannot start %1: %2").arg(promtool, process.errorString());
    process.write(text);
    process.closeWriteChannel();
    if (!process.waitForFinished(10000))
        return QStringLiteral("promtool did not finish: %1").arg(process.errorString());
    const QString output = QString::fromUtf8(process.readAll()).trimmed();
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0)
        return QStringLiteral("promtool exited %1: %2").arg(process.exitCode()).arg(output);
    return output;
}

ServerConfig metricsConfig()
{
    ServerConfig config = testConfig();
    config.metricsPort = 0;
    return config;
}

QByteArray token(const QString &user, const QStringList &roles)
{
    return TestTokens::userToken(kTestSecret, user, roles);
}

QCborMap clientOp(const QString &id, const QString &key, qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = QStringLiteral("metrics");
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { QCborValue(key), { millis, 0, QStringLiteral("client-m") },
        std::nullopt };
    return QCborMap { { QStringLiteral("type"), QStringLiteral("CLIENT_OP") },
        { QStringLiteral("payload"), op.toCbor() } };
}

// A storage whose open() completes only when the test says so: the node stays Starting.
class HeldStorage : public storage::MemoryStorage
{
public:
    void open() override { m_openRequested = true; }
    void release() { storage::MemoryStorage::open(); }
    bool openRequested() const { return m_openRequested; }

private:
    bool m_openRequested = false;
};

struct FeedAnswer {
    QJsonObject firstFrame;
    int closeCode = -1;
    QString closeReason;
};

// Opens the feed and waits for its first frame; refusals also wait for the close.
FeedAnswer openFeed(QWebSocket &socket, quint16 port, const QString &query)
{
    FeedAnswer answer;
    QObject::connect(
        &socket, &QWebSocket::textMessageReceived, &socket, [&answer](const QString &text) {
            if (answer.firstFrame.isEmpty())
                answer.firstFrame = QJsonDocument::fromJson(text.toUtf8()).object();
        });
    QSignalSpy disconnected(&socket, &QWebSocket::disconnected);
    socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/feed%2").arg(port).arg(query)));
    if (!QTest::qWaitFor([&] { return !answer.firstFrame.isEmpty(); }, 5000))
        return answer;
    if (answer.firstFrame.value(QStringLiteral("type")).toString() == u"refused") {
        if (disconnected.isEmpty())
            disconnected.wait(5000);
        answer.closeCode = socket.closeCode();
        answer.closeReason = socket.closeReason();
    }
    return answer;
}

} // namespace

class tst_Metrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void noMetricsPortMeansNoListener()
    {
        auto server = startServer();
        QVERIFY(server);
        QCOMPARE(server->metricsPort(), quint16(0));
        QVERIFY(stopServer(*server));
    }

    void healthAndMetricsAreServed()
    {
        auto server = startServer(metricsConfig());
        QVERIFY(server);
        QVERIFY(server->metricsPort() != 0);
        QVERIFY(server->metricsPort() != server->port());

        const auto health = httpGet(server->metricsPort(), QStringLiteral("/health"));
        QVERIFY(health);
        QCOMPARE(health->status, 200);
        const auto missing = httpGet(server->metricsPort(), QStringLiteral("/nothing-here"));
        QVERIFY(missing);
        QCOMPARE(missing->status, 404);

        const Exposition before = scrape(server->metricsPort());
        QVERIFY2(before.error.isEmpty(), qPrintable(before.error));
        for (const char *family :
            { "wingman_connections", "wingman_ops_total", "wingman_acks_sent_total",
                "wingman_rejections_total", "wingman_bytes_received_total",
                "wingman_bytes_sent_total", "wingman_slow_consumer_drops_total",
                "wingman_cluster_members", "wingman_gc_runs_total", "wingman_uptime_seconds",
                "wingman_messages_received_total" })
            QVERIFY2(before.types.contains(QLatin1String(family)), family);
        QCOMPARE(
            before.types.value(QStringLiteral("wingman_connections")), QStringLiteral("gauge"));
        QCOMPARE(
            before.types.value(QStringLiteral("wingman_ops_total")), QStringLiteral("counter"));
        QCOMPARE(before.value(QStringLiteral("wingman_connections{state=\"authenticated\"}")), 0.0);
        QCOMPARE(before.value(QStringLiteral("wingman_ops_total{outcome=\"applied\"}")), 0.0);
        QCOMPARE(before.value(QStringLiteral("wingman_cluster_members{state=\"up\"}")), 0.0);
        QCOMPARE(before.value(QStringLiteral("wingman_ready")), 1.0);

        RawClient writer;
        QVERIFY(writer.connectAndAuthenticate(server->port(), token("writer", { "USER" })));
        RawClient waiting;
        QVERIFY(waiting.connectTo(server->port()));
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        writer.send(clientOp(QStringLiteral("1"), QStringLiteral("a"), now));
        QVERIFY(writer.takeAck());
        writer.send(clientOp(QStringLiteral("2"), QString(), now));
        QVERIFY(writer.take(QStringLiteral("OP_REJECTED")));
        QVERIFY(writer.takeAck());

        const Exposition after = scrape(server->metricsPort());
        QVERIFY2(after.error.isEmpty(), qPrintable(after.error));
        QCOMPARE(after.value(QStringLiteral("wingman_connections{state=\"authenticated\"}")), 1.0);
        QCOMPARE(after.value(QStringLiteral("wingman_connections{state=\"pending\"}")), 1.0);
        QCOMPARE(after.value(QStringLiteral("wingman_connections_accepted_total")), 2.0);
        QCOMPARE(after.value(QStringLiteral("wingman_ops_total{outcome=\"applied\"}")), 1.0);
        QCOMPARE(after.value(QStringLiteral("wingman_ops_total{outcome=\"rejected\"}")), 1.0);
        QCOMPARE(after.value(QStringLiteral("wingman_rejections_total")), 1.0);
        QCOMPARE(after.value(QStringLiteral("wingman_acks_sent_total")), 2.0);
        QCOMPARE(after.value(QStringLiteral("wingman_messages_received_total{type=\"CLIENT_OP\"}")),
            2.0);
        QVERIFY(after.value(QStringLiteral("wingman_bytes_received_total"))
            > before.value(QStringLiteral("wingman_bytes_received_total")));
        QVERIFY(after.value(QStringLiteral("wingman_bytes_sent_total"))
            > before.value(QStringLiteral("wingman_bytes_sent_total")));

        const double bytesIn = after.value(QStringLiteral("wingman_bytes_received_total"));
        writer.close();
        QVERIFY(writer.waitForDisconnected());
        QTRY_COMPARE_WITH_TIMEOUT(server->connections().size(), 1, 5000);
        const Exposition closed = scrape(server->metricsPort());
        QVERIFY2(closed.error.isEmpty(), qPrintable(closed.error));
        QCOMPARE(closed.value(QStringLiteral("wingman_connections{state=\"authenticated\"}")), 0.0);
        QVERIFY(closed.value(QStringLiteral("wingman_bytes_received_total")) >= bytesIn);
        QVERIFY(stopServer(*server));
    }

    void failedAuthIsCountedAndReported()
    {
        auto server = startServer(metricsConfig());
        QVERIFY(server);
        QSignalSpy events(server.get(), &ServerCoordinator::notableEvent);
        RawClient intruder;
        QVERIFY(intruder.connectTo(server->port()));
        QVERIFY(intruder.take(QStringLiteral("AUTH_REQUIRED")));
        intruder.sendAuth(TestTokens::userToken("some-other-secret"));
        QVERIFY(intruder.waitForDisconnected());
        QTRY_VERIFY(std::any_of(events.cbegin(), events.cend(),
            [](const QList<QVariant> &e) { return e.first().toString() == u"auth-failure"; }));
        const Exposition metrics = scrape(server->metricsPort());
        QVERIFY2(metrics.error.isEmpty(), qPrintable(metrics.error));
        QCOMPARE(metrics.value(QStringLiteral("wingman_auth_failures_total")), 1.0);
        QVERIFY(stopServer(*server));
    }

    void metricsPassPromtool()
    {
        const QString promtool = QStandardPaths::findExecutable(QStringLiteral("promtool"));
        if (promtool.isEmpty())
            QSKIP("promtool is not on PATH (Debian package 'prometheus'): /metrics not linted");
        auto server = startServer(metricsConfig());
        QVERIFY(server);
        QSignalSpy events(server.get(), &ServerCoordinator::notableEvent);

        RawClient writer;
        QVERIFY(writer.connectAndAuthenticate(server->port(), token("writer", { "USER" })));
        RawClient waiting;
        QVERIFY(waiting.connectTo(server->port()));
        RawClient intruder;
        QVERIFY(intruder.connectTo(server->port()));
        QVERIFY(intruder.take(QStringLiteral("AUTH_REQUIRED")));
        intruder.sendAuth(TestTokens::userToken("some-other-secret"));
        QVERIFY(intruder.waitForDisconnected());
        QTRY_VERIFY_WITH_TIMEOUT(
            std::any_of(events.cbegin(), events.cend(),
                [](const QList<QVariant> &e) { return e.first().toString() == u"auth-failure"; }),
            5000);
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        writer.send(clientOp(QStringLiteral("1"), QStringLiteral("a"), now));
        QVERIFY(writer.takeAck());
        writer.send(clientOp(QStringLiteral("2"), QString(), now));
        QVERIFY(writer.take(QStringLiteral("OP_REJECTED")));

        const auto reply = httpGet(server->metricsPort(), QStringLiteral("/metrics"));
        QVERIFY(reply);
        QCOMPARE(reply->status, 200);
        // promtool skips a family without samples, so each one must have some to be linted.
        const Exposition metrics = parsePrometheus(reply->body);
        QVERIFY2(metrics.error.isEmpty(), qPrintable(metrics.error));
        QVERIFY(!metrics.types.isEmpty());
        for (auto type = metrics.types.cbegin(); type != metrics.types.cend(); ++type) {
            const QString &family = type.key();
            QVERIFY2(std::any_of(metrics.samples.keyBegin(), metrics.samples.keyEnd(),
                         [&family](const QString &key) {
                             return key == family || key.startsWith(family + u'{')
                                 || key.startsWith(family + QStringLiteral("_bucket{"));
                         }),
                qPrintable(family));
        }
        QCOMPARE(metrics.value(QStringLiteral("wingman_auth_failures_total")), 1.0);
        QCOMPARE(metrics.value(QStringLiteral("wingman_ops_total{outcome=\"applied\"}")), 1.0);

        const QString problems = promtoolProblems(promtool, reply->body);
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        QVERIFY(stopServer(*server));
    }

    void readyOnlyWhileServing()
    {
        ServerConfig config = metricsConfig();
        config.nodeId = QStringLiteral("node-held");
        ServerCoordinator::Modules modules;
        auto *storage = new HeldStorage;
        modules.storage = storage;
        modules.network
            = new network::NetworkModule(QHostAddress::LocalHost, 0, config.maxFrameBytes);
        modules.cluster = new cluster::ClusterModule(QHostAddress::LocalHost, 0);
        modules.metrics = new metrics::MetricsModule(QHostAddress::LocalHost, 0);
        QString error;
        modules.verifier = auth::JwtVerifier::create(kTestSecret, &error);
        QSignalSpy metricsListening(modules.metrics, &metrics::MetricsModule::listening);
        const std::unique_ptr<ServerCoordinator> node(
            ServerFactory::assemble(config, std::move(modules)));
        QSignalSpy ready(node.get(), &ServerCoordinator::ready);
        node->start();
        QVERIFY(metricsListening.count() == 1 || metricsListening.wait(5000));
        QVERIFY(storage->openRequested());
        const auto port = metricsListening.first().first().value<quint16>();
        QCOMPARE(node->metricsPort(), quint16(0));

        const auto starting = httpGet(port, QStringLiteral("/ready"));
        QVERIFY(starting);
        QCOMPARE(starting->status, 503);
        QCOMPARE(starting->body.trimmed(), QByteArray("starting"));
        const auto health = httpGet(port, QStringLiteral("/health"));
        QVERIFY(health);
        QCOMPARE(health->status, 200);
        QVERIFY(ready.isEmpty());

        storage->release();
        QVERIFY(ready.wait(5000));
        QCOMPARE(node->metricsPort(), port);
        const auto serving = httpGet(port, QStringLiteral("/ready"));
        QVERIFY(serving);
        QCOMPARE(serving->status, 200);
        QVERIFY(stopServer(*node));
        QVERIFY(!httpGet(port, QStringLiteral("/health"), 2000));
    }

    void feedRefusesNonAdmins_data()
    {
        QTest::addColumn<QString>("query");
        QTest::addColumn<int>("closeCode");
        QTest::addColumn<QString>("reasonPart");
        QTest::newRow("user token")
            << QStringLiteral("?token=%1").arg(QString::fromLatin1(token("alice", { "USER" })))
            << 4003 << QStringLiteral("ADMIN");
        QTest::newRow("wrong key") << QStringLiteral("?token=%1")
                                          .arg(QString::fromLatin1(TestTokens::userToken(
                                              "not-the-secret", "eve", { "ADMIN" })))
                                   << 4001 << QStringLiteral("Unauthorized");
        QTest::newRow("garbage") << QStringLiteral("?token=xyz") << 4001
                                 << QStringLiteral("Unauthorized");
    }

    void feedRefusesNonAdmins()
    {
        QFETCH(QString, query);
        QFETCH(int, closeCode);
        QFETCH(QString, reasonPart);
        auto server = startServer(metricsConfig());
        QVERIFY(server);
        QWebSocket socket;
        const FeedAnswer answer = openFeed(socket, server->metricsPort(), query);
        QCOMPARE(
            answer.firstFrame.value(QStringLiteral("type")).toString(), QStringLiteral("refused"));
        QVERIFY2(answer.firstFrame.value(QStringLiteral("reason")).toString().contains(reasonPart),
            qPrintable(answer.firstFrame.value(QStringLiteral("reason")).toString()));
        QCOMPARE(answer.closeCode, closeCode);
        QVERIFY(stopServer(*server));
    }

    void feedSendsSnapshotThenDeltasToAdmins()
    {
        ServerConfig config = metricsConfig();
        config.monitorFeedIntervalMs = 100;
        auto server = startServer(config);
        QVERIFY(server);
        RawClient early;
        QVERIFY(early.connectAndAuthenticate(server->port(), token("early", { "USER", "EDITOR" })));

        QWebSocket socket;
        QList<QJsonObject> frames;
        connect(&socket, &QWebSocket::textMessageReceived, this, [&frames](const QString &text) {
            frames.append(QJsonDocument::fromJson(text.toUtf8()).object());
        });
        socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/feed?token=%2")
                             .arg(server->metricsPort())
                             .arg(QString::fromLatin1(token("ops", { "ADMIN" })))));
        QTRY_VERIFY_WITH_TIMEOUT(!frames.isEmpty(), 5000);
        const QJsonObject snapshot = frames.first();
        QCOMPARE(snapshot.value(QStringLiteral("type")).toString(), QStringLiteral("snapshot"));
        const QJsonObject node = snapshot.value(QStringLiteral("node")).toObject();
        QCOMPARE(node.value(QStringLiteral("nodeId")).toString(), server->nodeId());
        QCOMPARE(node.value(QStringLiteral("port")).toInt(), int(server->port()));
        QCOMPARE(node.value(QStringLiteral("clusterPort")).toInt(), int(server->clusterPort()));
        QCOMPARE(node.value(QStringLiteral("metricsPort")).toInt(), int(server->metricsPort()));
        QCOMPARE(node.value(QStringLiteral("state")).toString(), QStringLiteral("ready"));
        const QJsonArray connections = snapshot.value(QStringLiteral("connections")).toArray();
        QCOMPARE(connections.size(), 1);
        const QJsonObject first = connections.first().toObject();
        QCOMPARE(
            first.value(QStringLiteral("authState")).toString(), QStringLiteral("authenticated"));
        QCOMPARE(first.value(QStringLiteral("user")).toString(), QStringLiteral("early"));
        QCOMPARE(first.value(QStringLiteral("roles")).toArray().size(), 2);
        QVERIFY(first.value(QStringLiteral("remoteAddress")).toString().startsWith(u"127.0.0.1"));
        QVERIFY(snapshot.value(QStringLiteral("counters"))
                    .toObject()
                    .contains(QStringLiteral("opsApplied")));

        const auto typesSeen = [&frames] {
            QStringList types;
            for (const QJsonObject &frame : frames)
                types << frame.value(QStringLiteral("type")).toString();
            return types;
        };
        RawClient late;
        QVERIFY(late.connectTo(server->port()));
        QTRY_VERIFY_WITH_TIMEOUT(typesSeen().contains(QStringLiteral("connection-opened")), 5000);
        late.close();
        QTRY_VERIFY_WITH_TIMEOUT(typesSeen().contains(QStringLiteral("connection-closed")), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(typesSeen().contains(QStringLiteral("stats")), 5000);
        QVERIFY(stopServer(*server));
    }

    void feedAcceptsTokenAsFirstMessage()
    {
        auto server = startServer(metricsConfig());
        QVERIFY(server);
        QWebSocket socket;
        QJsonObject first;
        connect(&socket, &QWebSocket::textMessageReceived, this, [&first](const QString &text) {
            if (first.isEmpty())
                first = QJsonDocument::fromJson(text.toUtf8()).object();
        });
        QSignalSpy connected(&socket, &QWebSocket::connected);
        socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/feed").arg(server->metricsPort())));
        QVERIFY(connected.wait(5000));
        const QJsonObject auth { { QStringLiteral("type"), QStringLiteral("auth") },
            { QStringLiteral("token"), QString::fromLatin1(token("ops", { "ADMIN" })) } };
        socket.sendTextMessage(
            QString::fromUtf8(QJsonDocument(auth).toJson(QJsonDocument::Compact)));
        QTRY_VERIFY_WITH_TIMEOUT(!first.isEmpty(), 5000);
        QCOMPARE(first.value(QStringLiteral("type")).toString(), QStringLiteral("snapshot"));
        QVERIFY(stopServer(*server));
    }

    void otherPathsAreNotTheFeed()
    {
        auto server = startServer(metricsConfig());
        QVERIFY(server);
        QWebSocket socket;
        QSignalSpy connected(&socket, &QWebSocket::connected);
        QSignalSpy disconnected(&socket, &QWebSocket::disconnected);
        socket.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/elsewhere").arg(server->metricsPort())));
        QVERIFY(disconnected.wait(5000));
        QVERIFY(connected.isEmpty());
        const auto plain = httpGet(server->metricsPort(), QStringLiteral("/feed"));
        QVERIFY(plain);
        QCOMPARE(plain->status, 426);
        QVERIFY(stopServer(*server));
    }

    void metricsPortInUseFailsStartup()
    {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
        ServerConfig config = metricsConfig();
        config.metricsPort = squatter.serverPort();
        std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
        QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
        QSignalSpy ready(server.get(), &ServerCoordinator::ready);
        QVERIFY(failed.wait(5000));
        QVERIFY(failed.first().first().toString().contains(QString::number(squatter.serverPort())));
        QVERIFY(ready.isEmpty());
    }
};

QTEST_MAIN(tst_Metrics)
#include "tst_metrics.moc"

#include "ServerConfig.h"
#include "search/SearchConfig.h"

#include <QHostInfo>
#include <QTemporaryDir>
#include <QTest>

using wingman::ServerConfig;
namespace search = wingman::search;

class tst_ServerConfig : public QObject
{
    Q_OBJECT

private:
    static ServerConfig::ParseResult parse(
        const QStringList &flags, const QProcessEnvironment &env = {})
    {
        return ServerConfig::fromCommandLine(
            QStringList { QStringLiteral("wingman-server") } + flags, env);
    }

    // The file's path, or empty when it cannot be written.
    static QString writeFile(
        const QTemporaryDir &dir, const QString &name, const QByteArray &contents)
    {
        const QString path = dir.filePath(name);
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(contents) != contents.size())
            return {};
        return path;
    }

    // Startup refused: exit 2 with one line that names the option.
    static void expectRefusal(const ServerConfig::ParseResult &result, const QString &named)
    {
        QVERIFY(!result.config);
        QCOMPARE(result.exitCode, 2);
        QVERIFY2(result.message.contains(named), qPrintable(result.message));
        QVERIFY(!result.message.contains(u'\n'));
    }

private Q_SLOTS:
    void defaults()
    {
        const auto result = parse({});
        QVERIFY(result.config);
        const ServerConfig &c = *result.config;
        QCOMPARE(c.port, quint16(8080));
        QCOMPARE(c.clusterPort, quint16(9080));
        QCOMPARE(c.host, QStringLiteral("0.0.0.0"));
        QCOMPARE(c.storage, QStringLiteral("sqlite:./wingman-data/wingman.db"));
        QVERIFY(c.usesDevSecret());
        QVERIFY(!c.metricsPort);
        QVERIFY(c.peers.isEmpty());
        QCOMPARE(c.gcAgeMs, 30LL * 24 * 3600 * 1000);
        QCOMPARE(c.maxFrameBytes, 16LL * 1024 * 1024);
        QCOMPARE(c.rateLimitOpsPerSecond, 0);
        QCOMPARE(c.rateLimitBurst, 0);
        QVERIFY(!c.stampServerTimestamps);
        QVERIFY(c.interceptors.isEmpty());
        QCOMPARE(c.maxClockDriftMs, 60000);
        QCOMPARE(c.authTimeoutMs, 10000);
        QCOMPARE(c.maxConnections, 10000);
        QCOMPARE(c.maxPendingAuth, 1000);
        QCOMPARE(c.maxConnectionsPerIpPerSecond, 50);
        QCOMPARE(c.durability, QStringLiteral("full"));
        QCOMPARE(c.shutdownDrainMs, 5000);
    }

    void hardeningOptions()
    {
        const auto result = parse({ "--durability", "relaxed", "--shutdown-drain-ms", "250" });
        QVERIFY2(result.config, qPrintable(result.message));
        QCOMPARE(result.config->durability, QStringLiteral("relaxed"));
        QCOMPARE(result.config->shutdownDrainMs, 250);
    }

    void admissionLimits()
    {
        const auto result = parse({ "--auth-timeout-ms", "2500", "--max-connections", "20",
            "--max-pending-auth", "5", "--max-connections-per-ip-per-second", "0" });
        QVERIFY2(result.config, qPrintable(result.message));
        QCOMPARE(result.config->authTimeoutMs, 2500);
        QCOMPARE(result.config->maxConnections, 20);
        QCOMPARE(result.config->maxPendingAuth, 5);
        QCOMPARE(result.config->maxConnectionsPerIpPerSecond, 0);
    }

    void maxClockDrift()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path
            = writeFile(dir, QStringLiteral("wingman.ini"), "[server]\nmaxClockDriftMs=1500\n");
        QVERIFY(!path.isEmpty());
        const auto fromFile = parse({ "--config", path });
        QVERIFY2(fromFile.config, qPrintable(fromFile.message));
        QCOMPARE(fromFile.config->maxClockDriftMs, 1500);

        QProcessEnvironment env;
        env.insert(QStringLiteral("WINGMAN_MAX_CLOCK_DRIFT_MS"), QStringLiteral("2500"));
        const auto fromEnv = parse({ "--config", path }, env);
        QVERIFY2(fromEnv.config, qPrintable(fromEnv.message));
        QCOMPARE(fromEnv.config->maxClockDriftMs, 2500);

        const auto fromFlag = parse({ "--config", path, "--max-clock-drift-ms", "3500" }, env);
        QVERIFY2(fromFlag.config, qPrintable(fromFlag.message));
        QCOMPARE(fromFlag.config->maxClockDriftMs, 3500);
    }

    void interceptorOptions()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = writeFile(dir, QStringLiteral("wingman.ini"),
            "[server]\nrateLimitOpsPerSecond=100\nrateLimitBurst=500\n"
            "stampServerTimestamps=true\n");
        QVERIFY(!path.isEmpty());
        const auto fromFile = parse({ "--config", path });
        QVERIFY2(fromFile.config, qPrintable(fromFile.message));
        QCOMPARE(fromFile.config->rateLimitOpsPerSecond, 100);
        QCOMPARE(fromFile.config->rateLimitBurst, 500);
        QVERIFY(fromFile.config->stampServerTimestamps);

        QProcessEnvironment env;
        env.insert(QStringLiteral("WINGMAN_STAMP_SERVER_TIMESTAMPS"), QStringLiteral("off"));
        const auto overridden
            = parse({ "--config", path, "--rate-limit-ops-per-second", "0" }, env);
        QVERIFY2(overridden.config, qPrintable(overridden.message));
        QCOMPARE(overridden.config->rateLimitOpsPerSecond, 0);
        QVERIFY(!overridden.config->stampServerTimestamps);
    }

    void flags()
    {
        const auto result = parse({ "--port", "0", "--cluster-port", "0", "--host", "127.0.0.1",
            "--peers", "10.0.0.1:9080, node-b:9081", "--node-id", "n-1", "--jwt-secret", "s3cret",
            "--metrics-port", "0", "--cluster-secret", "sixteen-bytes-ok", "--advertise-host",
            "node-a.local", "--cluster-advertise-port", "9999", "--backup-count", "2",
            "--probe-interval-ms", "200", "--suspicion-timeout-ms", "900", "--join-timeout-ms",
            "100", "--leave-timeout-ms", "50", "--anti-entropy-interval-ms", "1000",
            "--member-forget-after-ms", "60000" });
        QVERIFY2(result.config, qPrintable(result.message));
        const ServerConfig &c = *result.config;
        QCOMPARE(c.port, quint16(0));
        QCOMPARE(c.clusterPort, quint16(0));
        QCOMPARE(c.host, QStringLiteral("127.0.0.1"));
        QCOMPARE(c.peers, (QStringList { "10.0.0.1:9080", "node-b:9081" }));
        QCOMPARE(c.nodeId, QStringLiteral("n-1"));
        QCOMPARE(c.jwtSecret, QByteArray("s3cret"));
        QVERIFY(!c.usesDevSecret());
        QCOMPARE(c.metricsPort, std::optional<quint16>(0));
        QCOMPARE(c.clusterSecret, QByteArray("sixteen-bytes-ok"));
        QCOMPARE(c.advertiseHost, QStringLiteral("node-a.local"));
        QCOMPARE(c.effectiveAdvertiseHost(), QStringLiteral("node-a.local"));
        QCOMPARE(c.clusterAdvertisePort, quint16(9999));
        QCOMPARE(c.backupCount, 2);
        QCOMPARE(c.probeIntervalMs, 200);
        QCOMPARE(c.suspicionTimeoutMs, 900);
        QCOMPARE(c.joinTimeoutMs, 100);
        QCOMPARE(c.leaveTimeoutMs, 50);
        QCOMPARE(c.antiEntropyIntervalMs, 1000);
        QCOMPARE(c.memberForgetAfterMs, 60000);
    }

    void clusterDefaults()
    {
        const ServerConfig c;
        QVERIFY(c.clusterSecret.isEmpty());
        QCOMPARE(c.backupCount, 1);
        QCOMPARE(c.probeIntervalMs, 500);
        QCOMPARE(c.suspicionTimeoutMs, 1500);
        QCOMPARE(c.antiEntropyIntervalMs, 5000);
        QCOMPARE(c.joinTimeoutMs, 3000);
        QCOMPARE(c.leaveTimeoutMs, 5000);
        QCOMPARE(c.memberForgetAfterMs, 24LL * 60 * 60 * 1000);
        QCOMPARE(c.effectiveAdvertiseHost(), QHostInfo::localHostName());
    }

    // Peers are only ever reached through an authenticated handshake.
    void peersNeedClusterSecret()
    {
        expectRefusal(parse({ "--peers", "10.0.0.1:9080" }), "--cluster-secret");
        QProcessEnvironment env;
        env.insert(QStringLiteral("WINGMAN_PEERS"), QStringLiteral("10.0.0.1:9080"));
        env.insert(QStringLiteral("WINGMAN_CLUSTER_SECRET"), QStringLiteral("0123456789abcdef"));
        const auto result = parse({}, env);
        QVERIFY2(result.config, qPrintable(result.message));
        ServerConfig library;
        library.peers = { QStringLiteral("127.0.0.1:1") };
        QVERIFY(library.clusterProblem().contains(u"--cluster-secret"));
    }

    void precedence()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = writeFile(dir, QStringLiteral("wingman.ini"),
            "port=1111\nclusterPort=2222\nnodeId=from-file\n[server]\nhost=127.0.0.1\n"
            "[policies]\nUSER/secret.*=READ\n");
        QVERIFY(!path.isEmpty());

        QProcessEnvironment env;
        env.insert(QStringLiteral("WINGMAN_CLUSTER_PORT"), QStringLiteral("3333"));
        env.insert(QStringLiteral("WINGMAN_NODE_ID"), QStringLiteral("from-env"));

        const auto result = parse({ "--config", path, "--node-id", "from-flag" }, env);
        QVERIFY2(result.config, qPrintable(result.message));
        QCOMPARE(result.config->port, quint16(1111)); // file
        QCOMPARE(result.config->host, QStringLiteral("127.0.0.1")); // file, [server] group
        QCOMPARE(result.config->clusterPort, quint16(3333)); // env beats file
        QCOMPARE(result.config->nodeId, QStringLiteral("from-flag")); // flag beats env
        QCOMPARE(result.config->configFile, path);
        QCOMPARE(result.config->policy.rules().size(), 1);
        wingman::auth::Principal user { QStringLiteral("u"), { QStringLiteral("USER") } };
        QVERIFY(result.config->policy.isAllowed(
            user, QStringLiteral("secret.x"), wingman::auth::SecurityPolicy::Action::Read));
        QVERIFY(!result.config->policy.isAllowed(
            user, QStringLiteral("secret.x"), wingman::auth::SecurityPolicy::Action::Put));
    }

    void badPolicyIsAnError()
    {
        QTemporaryDir dir;
        const QString path
            = writeFile(dir, QStringLiteral("bad.ini"), "[policies]\nUSER/notes.*=WRITE\n");
        QVERIFY(!path.isEmpty());
        const auto result = parse({ "--config", path });
        QVERIFY(!result.config);
        QCOMPARE(result.exitCode, 2);
        QVERIFY2(result.message.contains("WRITE"), qPrintable(result.message));
    }

    void shippedExampleConfigLoads()
    {
        const auto result = parse({ "--config", WINGMAN_RESOURCES_DIR "/wingman.ini" });
        QVERIFY2(result.config, qPrintable(result.message));
        QCOMPARE(result.config->port, quint16(8080));
        QCOMPARE(result.config->slowConsumerGraceMs, 2000);
    }

    void keyFile()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("key.pem"),
            "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n");
        QVERIFY(!path.isEmpty());
        const auto result = parse({ "--jwt-key-file", path });
        QVERIFY(result.config);
        QVERIFY(result.config->jwtSecret.startsWith("-----BEGIN PUBLIC KEY-----"));
    }

    void badValues_data()
    {
        QTest::addColumn<QStringList>("flags");
        QTest::addColumn<QString>("named");
        QTest::newRow("port too big") << QStringList { "--port", "70000" } << "--port";
        QTest::newRow("port negative") << QStringList { "--port", "-1" } << "--port";
        QTest::newRow("port text") << QStringList { "--port", "http" } << "--port";
        QTest::newRow("cluster port")
            << QStringList { "--cluster-port", "99999" } << "--cluster-port";
        QTest::newRow("metrics port") << QStringList { "--metrics-port", "x" } << "--metrics-port";
        QTest::newRow("host") << QStringList { "--host", "not an address" } << "--host";
        QTest::newRow("node id with colon") << QStringList { "--node-id", "a:b" } << "--node-id";
        QTest::newRow("empty node id") << QStringList { "--node-id", "" } << "--node-id";
        QTest::newRow("peer without port") << QStringList { "--peers", "host" } << "--peers";
        QTest::newRow("peer port 0") << QStringList { "--peers", "a:1,b:0" } << "--peers";
        QTest::newRow("short cluster secret")
            << QStringList { "--cluster-secret", "too-short" } << "--cluster-secret";
        QTest::newRow("advertise host with port")
            << QStringList { "--advertise-host", "a.b:80" } << "--advertise-host";
        QTest::newRow("probe interval zero")
            << QStringList { "--probe-interval-ms", "0" } << "--probe-interval-ms";
        QTest::newRow("suspicion text")
            << QStringList { "--suspicion-timeout-ms", "soon" } << "--suspicion-timeout-ms";
        QTest::newRow("backup count negative")
            << QStringList { "--backup-count", "-1" } << "--backup-count";
        QTest::newRow("join timeout negative")
            << QStringList { "--join-timeout-ms", "-5" } << "--join-timeout-ms";
        QTest::newRow("key file missing")
            << QStringList { "--jwt-key-file", "/nonexistent/key.pem" } << "--jwt-key-file";
        QTest::newRow("storage scheme")
            << QStringList { "--storage", "mongodb://x" } << "--storage";
        QTest::newRow("storage sqlite without path")
            << QStringList { "--storage", "sqlite:" } << "--storage";
        QTest::newRow("storage postgres without database")
            << QStringList { "--storage", "postgres://u:p@localhost:5432" } << "--storage";
        QTest::newRow("gc age") << QStringList { "--gc-age-ms", "0" } << "--gc-age-ms";
        QTest::newRow("frame bytes")
            << QStringList { "--max-frame-bytes", "-5" } << "--max-frame-bytes";
        QTest::newRow("clock drift zero")
            << QStringList { "--max-clock-drift-ms", "0" } << "--max-clock-drift-ms";
        QTest::newRow("clock drift text")
            << QStringList { "--max-clock-drift-ms", "soon" } << "--max-clock-drift-ms";
        QTest::newRow("rate negative")
            << QStringList { "--rate-limit-ops-per-second", "-1" } << "--rate-limit-ops-per-second";
        QTest::newRow("rate text")
            << QStringList { "--rate-limit-ops-per-second", "fast" } << "rateLimitOpsPerSecond";
        QTest::newRow("burst negative")
            << QStringList { "--rate-limit-burst", "-3" } << "--rate-limit-burst";
        QTest::newRow("stamp not a bool")
            << QStringList { "--stamp-server-timestamps", "maybe" } << "stampServerTimestamps";
        QTest::newRow("auth timeout zero")
            << QStringList { "--auth-timeout-ms", "0" } << "--auth-timeout-ms";
        QTest::newRow("auth timeout text")
            << QStringList { "--auth-timeout-ms", "soon" } << "--auth-timeout-ms";
        QTest::newRow("max connections zero")
            << QStringList { "--max-connections", "0" } << "--max-connections";
        QTest::newRow("max pending auth negative")
            << QStringList { "--max-pending-auth", "-1" } << "--max-pending-auth";
        QTest::newRow("connections per second negative")
            << QStringList { "--max-connections-per-ip-per-second", "-1" }
            << "--max-connections-per-ip-per-second";
        QTest::newRow("durability unknown")
            << QStringList { "--durability", "sometimes" } << "--durability";
        QTest::newRow("shutdown drain negative")
            << QStringList { "--shutdown-drain-ms", "-1" } << "--shutdown-drain-ms";
        QTest::newRow("tls cert missing")
            << QStringList { "--tls-cert", "/nonexistent/cert.pem" } << "--tls-cert";
        QTest::newRow("search without fields")
            << QStringList { "--full-text-search", "articles" } << "fullTextSearch";
        QTest::newRow("search empty field")
            << QStringList { "--full-text-search", "articles:title+" } << "fullTextSearch";
        QTest::newRow("search bad b")
            << QStringList { "--full-text-search", "articles:title:b=2" } << "fullTextSearch";
        QTest::newRow("search unknown parameter")
            << QStringList { "--full-text-search", "articles:title:k2=1" } << "fullTextSearch";
        QTest::newRow("search map twice")
            << QStringList { "--full-text-search", "a:x a:y" } << "fullTextSearch";
        QTest::newRow("unknown flag") << QStringList { "--bogus", "1" } << "bogus";
        QTest::newRow("config missing")
            << QStringList { "--config", "/nonexistent.ini" } << "config";
    }

    void badValues()
    {
        QFETCH(QStringList, flags);
        QFETCH(QString, named);
        const auto result = parse(flags);
        expectRefusal(result, named);
    }

    void fullTextSearch()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("search.ini"),
            "fullTextSearch = articles:title+body notes:text:k1=1.5:b=0.5\n");
        QVERIFY(!path.isEmpty());
        const auto result = parse({ "--config", path });
        QVERIFY2(result.config, qPrintable(result.message));
        const auto search = search::SearchConfig::parse(result.config->fullTextSearch, nullptr);
        QVERIFY(search);
        QCOMPARE(search->maps.size(), 2);
        QCOMPARE(search->maps[0],
            (search::SearchConfig::IndexedMap { "articles", { "title", "body" }, 1.2, 0.75 }));
        QCOMPARE(
            search->maps[1], (search::SearchConfig::IndexedMap { "notes", { "text" }, 1.5, 0.5 }));
        QVERIFY(parse({}).config->fullTextSearch.isEmpty());
    }

    void badFileValueNamesOption()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("bad.ini"), "clusterPort=abc\n");
        QVERIFY(!path.isEmpty());
        const auto result = parse({ "--config", path });
        QVERIFY(!result.config);
        QCOMPARE(result.exitCode, 2);
        QVERIFY2(result.message.contains("clusterPort") && result.message.contains("abc"),
            qPrintable(result.message));
    }

    void unknownFileKeyIsAnError()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("bad.ini"), "prot=1\n");
        QVERIFY(!path.isEmpty());
        const auto result = parse({ "--config", path });
        QVERIFY(!result.config);
        QVERIFY2(result.message.contains("prot"), qPrintable(result.message));
    }

    void badEnvironmentNamesVariable()
    {
        QProcessEnvironment env;
        env.insert(QStringLiteral("WINGMAN_PORT"), QStringLiteral("65536"));
        const auto result = parse({}, env);
        QVERIFY(!result.config);
        QCOMPARE(result.exitCode, 2);
        QVERIFY(result.message.contains("WINGMAN_PORT"));
    }

    void production_data()
    {
        QTest::addColumn<QStringList>("flags");
        QTest::addColumn<QStringList>("environment"); // NAME=value
        QTest::addColumn<QString>("refusal"); // empty: it starts
        QTest::newRow("off: dev secret and memory storage")
            << QStringList { "--storage", "memory:" } << QStringList {} << QString();
        QTest::newRow("flag, dev secret")
            << QStringList { "--production" } << QStringList {} << "--jwt-secret";
        QTest::newRow("environment, dev secret")
            << QStringList {} << QStringList { "WINGMAN_PRODUCTION=1" } << "--jwt-secret";
        QTest::newRow("secret from the environment")
            << QStringList { "--production" } << QStringList { "WINGMAN_JWT_SECRET=s3cret" }
            << QString();
        QTest::newRow("memory storage")
            << QStringList { "--production", "--jwt-secret", "s3cret", "--storage", "memory:" }
            << QStringList {} << "--allow-memory-storage";
        QTest::newRow("memory storage allowed") << QStringList { "--production", "--jwt-secret",
            "s3cret", "--storage", "memory:", "--allow-memory-storage" }
                                                << QStringList {} << QString();
        QTest::newRow("memory storage allowed by environment")
            << QStringList { "--jwt-secret", "s3cret", "--storage", "memory:" }
            << QStringList { "WINGMAN_PRODUCTION=true", "WINGMAN_ALLOW_MEMORY_STORAGE=yes" }
            << QString();
        QTest::newRow("production not a bool")
            << QStringList {} << QStringList { "WINGMAN_PRODUCTION=sure" } << "WINGMAN_PRODUCTION";
    }

    void production()
    {
        QFETCH(QStringList, flags);
        QFETCH(QStringList, environment);
        QFETCH(QString, refusal);
        QProcessEnvironment env;
        for (const QString &pair : std::as_const(environment))
            env.insert(pair.section(u'=', 0, 0), pair.section(u'=', 1));
        const auto result = parse(flags, env);
        if (refusal.isEmpty()) {
            QVERIFY2(result.config, qPrintable(result.message));
            return;
        }
        expectRefusal(result, refusal);
    }

    void productionFromFile()
    {
        QTemporaryDir dir;
        const QString path = writeFile(
            dir, QStringLiteral("wingman.ini"), "[server]\nproduction=true\njwtSecret=from-file\n");
        QVERIFY(!path.isEmpty());
        const auto result = parse({ "--config", path });
        QVERIFY2(result.config, qPrintable(result.message));
        QVERIFY(result.config->production);
        QVERIFY(!result.config->allowMemoryStorage);
    }

    void helpAndVersionExitZero()
    {
        const auto help = parse({ "--help" });
        QVERIFY(!help.config);
        QCOMPARE(help.exitCode, 0);
        QVERIFY(help.message.contains("--cluster-port"));
        const auto version = parse({ "--version" });
        QVERIFY(!version.config);
        QCOMPARE(version.exitCode, 0);
    }
};

QTEST_GUILESS_MAIN(tst_ServerConfig)
#include "tst_serverconfig.moc"

#include "ServerConfig.h"

#include "storage/StorageUrl.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QHostAddress>
#include <QSettings>

#include <functional>

namespace wingman {

Q_LOGGING_CATEGORY(lcConfig, "wingman.config")

namespace {

struct OptionSpec {
    const char *name; // INI key
    const char *flag; // --flag
    const char *env;  // WINGMAN_<ENV>
    const char *valueName; // null: a flag without a value (true when given)
    const char *description;
};

constexpr OptionSpec kOptions[] = {
    {"port", "port", "PORT", "port", "Client WebSocket port (0 = OS-assigned). Default 8080."},
    {"host", "host", "HOST", "address", "Bind address for both listeners. Default 0.0.0.0."},
    {"clusterPort", "cluster-port", "CLUSTER_PORT", "port",
     "Peer TCP port (0 = OS-assigned). Default 9080."},
    {"peers", "peers", "PEERS", "host:port,...", "Other nodes' cluster ports."},
    {"nodeId", "node-id", "NODE_ID", "id", "This node's id (no ':'). Default: generated."},
    {"jwtSecret", "jwt-secret", "JWT_SECRET", "secret",
     "HS256 secret, or a PEM public key for RS256."},
    {"jwtKeyFile", "jwt-key-file", "JWT_KEY_FILE", "file",
     "Read the JWT secret or PEM public key from a file."},
    {"metricsPort", "metrics-port", "METRICS_PORT", "port",
     "HTTP metrics/health port (0 = OS-assigned). Default: off."},
    {"storage", "storage", "STORAGE", "url",
     "Storage: memory:, sqlite:<path> or postgres://user:password@host:port/db. "
     "Default sqlite:./wingman-data/wingman.db."},
    {"gcIntervalMs", "gc-interval-ms", "GC_INTERVAL_MS", "ms", "GC cadence. Default 3600000."},
    {"gcAgeMs", "gc-age-ms", "GC_AGE_MS", "ms", "Tombstone horizon. Default 2592000000."},
    {"maxFrameBytes", "max-frame-bytes", "MAX_FRAME_BYTES", "bytes",
     "Largest accepted frame. Default 16777216."},
    {"outboundBudgetBytes", "outbound-budget-bytes", "OUTBOUND_BUDGET_BYTES", "bytes",
     "Per-connection outbound queue budget. Default 8388608."},
    {"slowConsumerGraceMs", "slow-consumer-grace-ms", "SLOW_CONSUMER_GRACE_MS", "ms",
     "How long a connection may stay over budget. Default 2000."},
    {"maxClockDriftMs", "max-clock-drift-ms", "MAX_CLOCK_DRIFT_MS", "ms",
     "Refuse client timestamps further ahead of this node's clock. Default 60000."},
    {"rateLimitOpsPerSecond", "rate-limit-ops-per-second", "RATE_LIMIT_OPS_PER_SECOND", "ops",
     "Per-client write rate limit (0 = off). Default 0."},
    {"rateLimitBurst", "rate-limit-burst", "RATE_LIMIT_BURST", "ops",
     "Ops a client may send at once under the rate limit (0 = the rate). Default 0."},
    {"stampServerTimestamps", "stamp-server-timestamps", "STAMP_SERVER_TIMESTAMPS", "bool",
     "Replace client record timestamps with the server's clock. Default false."},
    {"production", "production", "PRODUCTION", nullptr,
     "Refuse to start with the development JWT secret or memory storage."},
    {"allowMemoryStorage", "allow-memory-storage", "ALLOW_MEMORY_STORAGE", nullptr,
     "With --production, accept memory: storage."},
};

QString bad(const QString &option, const QString &value, const QString &why)
{
    return QStringLiteral("invalid value for %1: '%2' (%3)").arg(option, value, why);
}

std::optional<quint16> parsePort(const QString &value)
{
    bool ok = false;
    const uint port = value.trimmed().toUInt(&ok);
    if (!ok || port > 65535)
        return std::nullopt;
    return quint16(port);
}

std::optional<qint64> parsePositive(const QString &value)
{
    bool ok = false;
    const qint64 n = value.trimmed().toLongLong(&ok);
    if (!ok || n <= 0)
        return std::nullopt;
    return n;
}

std::optional<qint64> parseNonNegative(const QString &value)
{
    bool ok = false;
    const qint64 n = value.trimmed().toLongLong(&ok);
    if (!ok || n < 0)
        return std::nullopt;
    return n;
}

std::optional<bool> parseBool(const QString &value)
{
    const QString v = value.trimmed().toLower();
    if (v == u"true" || v == u"1" || v == u"yes" || v == u"on")
        return true;
    if (v == u"false" || v == u"0" || v == u"no" || v == u"off")
        return false;
    return std::nullopt;
}

bool isValidNodeId(const QString &id)
{
    if (id.isEmpty() || id.size() > 128)
        return false;
    for (QChar c : id) {
        if (c == u':' || c.isSpace() || !c.isPrint())
            return false;
    }
    return true;
}

QString checkPeer(const QString &peer)
{
    const qsizetype colon = peer.lastIndexOf(u':');
    if (colon <= 0)
        return QStringLiteral("expected host:port");
    const auto port = parsePort(peer.mid(colon + 1));
    if (!port || *port == 0)
        return QStringLiteral("port must be 1-65535");
    return {};
}

} // namespace

QString ServerConfig::set(const QString &option, const QString &value)
{
    const auto setPositive = [&](qint64 &target) {
        const auto n = parsePositive(value);
        if (!n)
            return bad(option, value, QStringLiteral("expected a positive integer"));
        target = *n;
        return QString();
    };
    const auto setPort = [&](quint16 &target) {
        const auto port = parsePort(value);
        if (!port)
            return bad(option, value, QStringLiteral("expected a port 0-65535"));
        target = *port;
        return QString();
    };

    if (option == u"port")
        return setPort(port);
    if (option == u"clusterPort")
        return setPort(clusterPort);
    if (option == u"metricsPort") {
        if (value.trimmed() == u"off") {
            metricsPort.reset();
            return {};
        }
        quint16 p = 0;
        const QString error = setPort(p);
        if (error.isEmpty())
            metricsPort = p;
        return error;
    }
    if (option == u"host") {
        QHostAddress address;
        if (!address.setAddress(value.trimmed()))
            return bad(option, value, QStringLiteral("expected an IP address"));
        host = value.trimmed();
        return {};
    }
    if (option == u"peers") {
        QStringList list;
        for (const QString &part : value.split(u',', Qt::SkipEmptyParts)) {
            const QString peer = part.trimmed();
            const QString why = checkPeer(peer);
            if (!why.isEmpty())
                return bad(option, peer, why);
            list << peer;
        }
        peers = list;
        return {};
    }
    if (option == u"nodeId") {
        if (!isValidNodeId(value))
            return bad(option, value,
                       QStringLiteral("must be 1-128 printable characters without ':' or spaces"));
        nodeId = value;
        return {};
    }
    if (option == u"jwtSecret") {
        if (value.isEmpty())
            return bad(option, value, QStringLiteral("must not be empty"));
        jwtSecret = value.toUtf8();
        return {};
    }
    if (option == u"jwtKeyFile") {
        QFile file(value);
        if (!file.open(QIODevice::ReadOnly))
            return bad(option, value, file.errorString());
        const QByteArray key = file.readAll().trimmed();
        if (key.isEmpty())
            return bad(option, value, QStringLiteral("file is empty"));
        jwtSecret = key;
        return {};
    }
    if (option == u"storage") {
        QString why;
        if (!storage::StorageUrl::parse(value, &why))
            return bad(option, storage::StorageUrl::redacted(value), why);
        storage = value.trimmed();
        return {};
    }
    if (option == u"gcIntervalMs")
        return setPositive(gcIntervalMs);
    if (option == u"gcAgeMs")
        return setPositive(gcAgeMs);
    if (option == u"maxFrameBytes")
        return setPositive(maxFrameBytes);
    if (option == u"outboundBudgetBytes")
        return setPositive(outboundBudgetBytes);
    if (option == u"slowConsumerGraceMs")
        return setPositive(slowConsumerGraceMs);
    if (option == u"maxClockDriftMs")
        return setPositive(maxClockDriftMs);
    if (option == u"rateLimitOpsPerSecond" || option == u"rateLimitBurst") {
        const auto n = parseNonNegative(value);
        if (!n)
            return bad(option, value, QStringLiteral("expected a non-negative integer"));
        (option == u"rateLimitBurst" ? rateLimitBurst : rateLimitOpsPerSecond) = *n;
        return {};
    }
    if (option == u"stampServerTimestamps" || option == u"production"
        || option == u"allowMemoryStorage") {
        const auto on = parseBool(value);
        if (!on)
            return bad(option, value, QStringLiteral("expected true or false"));
        (option == u"production"           ? production
         : option == u"allowMemoryStorage" ? allowMemoryStorage
                                           : stampServerTimestamps) = *on;
        return {};
    }
    return QStringLiteral("unknown option '%1'").arg(option);
}

QString ServerConfig::productionProblem() const
{
    if (!production)
        return {};
    if (usesDevSecret())
        return QStringLiteral("production: refusing the built-in development JWT secret; set "
                              "--jwt-secret or --jwt-key-file (WINGMAN_JWT_SECRET, "
                              "WINGMAN_JWT_KEY_FILE)");
    const auto url = storage::StorageUrl::parse(storage);
    if (url && url->kind == storage::StorageUrl::Kind::Memory && !allowMemoryStorage)
        return QStringLiteral("production: refusing memory: storage, which loses every write on "
                              "restart; set --storage or pass --allow-memory-storage");
    return {};
}

QString ServerConfig::loadFile(const QString &path)
{
    if (!QFile::exists(path))
        return bad(QStringLiteral("config"), path, QStringLiteral("file not found"));
    QSettings settings(path, QSettings::IniFormat);
    if (settings.status() != QSettings::NoError)
        return bad(QStringLiteral("config"), path, QStringLiteral("not a readable INI file"));
    configFile = path;
    QString policyError;
    const auto loadedPolicy = auth::SecurityPolicy::fromSettings(settings, &policyError);
    if (!loadedPolicy)
        return QStringLiteral("%1: invalid value for policies: %2").arg(path, policyError);
    policy = *loadedPolicy;
    // Options live at the top level or in [server]; other groups (e.g. [policies]) belong to
    // their modules.
    for (const QString &key : settings.allKeys()) {
        QString option = key;
        if (option.startsWith(u"server/"))
            option = option.mid(7);
        else if (option.contains(u'/'))
            continue;
        const QString error = set(option, settings.value(key).toString());
        if (!error.isEmpty())
            return QStringLiteral("%1: %2").arg(path, error);
    }
    return {};
}

ServerConfig::ParseResult ServerConfig::fromCommandLine(const QStringList &arguments,
                                                        const QProcessEnvironment &environment)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Wingman: offline-first CRDT sync server"));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption configOption(QStringLiteral("config"),
                                          QStringLiteral("Read options from an INI file."),
                                          QStringLiteral("file"));
    parser.addOption(configOption);
    for (const OptionSpec &spec : kOptions) {
        parser.addOption(QCommandLineOption(QString::fromLatin1(spec.flag),
                                            QString::fromLatin1(spec.description),
                                            QString::fromLatin1(spec.valueName)));
    }

    ParseResult result;
    if (!parser.parse(arguments)) {
        result.message = parser.errorText();
        result.exitCode = 2;
        return result;
    }
    if (parser.isSet(helpOption)) {
        result.message = parser.helpText();
        return result;
    }
    if (parser.isSet(versionOption)) {
        result.message = QStringLiteral("%1 %2").arg(QCoreApplication::applicationName(),
                                                     QCoreApplication::applicationVersion());
        return result;
    }
    if (!parser.positionalArguments().isEmpty()) {
        result.message = QStringLiteral("unexpected argument '%1'")
                             .arg(parser.positionalArguments().constFirst());
        result.exitCode = 2;
        return result;
    }

    ServerConfig config;
    const auto fail = [&](const QString &message) {
        result.message = message;
        result.exitCode = 2;
        return result;
    };

    QString configPath = environment.value(QStringLiteral("WINGMAN_CONFIG"));
    if (parser.isSet(configOption))
        configPath = parser.value(configOption);
    if (!configPath.isEmpty()) {
        if (const QString error = config.loadFile(configPath); !error.isEmpty())
            return fail(error);
    }

    for (const QString &key : environment.keys()) {
        // WINGMAN_TEST_* belong to the test suites (a test database URL, say), which start
        // servers that inherit them.
        if (!key.startsWith(u"WINGMAN_") || key == u"WINGMAN_CONFIG"
            || key.startsWith(u"WINGMAN_TEST_"))
            continue;
        const QString envName = key.mid(8);
        const OptionSpec *spec = nullptr;
        for (const OptionSpec &candidate : kOptions) {
            if (envName == QLatin1StringView(candidate.env))
                spec = &candidate;
        }
        if (!spec)
            return fail(QStringLiteral("unknown environment variable %1").arg(key));
        if (const QString error = config.set(QString::fromLatin1(spec->name), environment.value(key));
            !error.isEmpty())
            return fail(QStringLiteral("%1: %2").arg(key, error));
    }

    for (const OptionSpec &spec : kOptions) {
        const QString flag = QString::fromLatin1(spec.flag);
        if (!parser.isSet(flag))
            continue;
        const QString value = spec.valueName ? parser.value(flag) : QStringLiteral("true");
        if (const QString error = config.set(QString::fromLatin1(spec.name), value);
            !error.isEmpty())
            return fail(QStringLiteral("--%1: %2").arg(flag, error));
    }

    if (const QString problem = config.productionProblem(); !problem.isEmpty())
        return fail(problem);
    result.config = config;
    return result;
}

} // namespace wingman

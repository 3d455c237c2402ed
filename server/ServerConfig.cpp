#include "ServerConfig.h"

#include "search/SearchConfig.h"
#include "storage/StorageUrl.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QHostAddress>
#include <QHostInfo>
#include <QSettings>

#include <algorithm>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace wingman {

Q_LOGGING_CATEGORY(lcConfig, "wingman.config")

namespace {

struct Option;

// Parses a value into the option's member; returns the error line naming the option, or an
// empty string (and then the member holds the value).
using Setter = QString (*)(const Option &option, ServerConfig &config, const QString &value);
// The option's member as --help shows it; empty when the member is unset.
using Printer = QString (*)(const ServerConfig &config);

// How an option reaches its member: made by bind(), so the parser and the member's type match.
struct Binding {
    Setter set;
    Printer print; // null: the option has no default of its own
    qint64 min; // bounds, for the parsers that take them
    qint64 max;

    // For an option that fills a member another option names, whose default is not its own.
    constexpr Binding withoutDefault() const { return { set, nullptr, min, max }; }
};

// One option: where it comes from, what it sets and how --help describes it.
struct Option {
    const char *name; // INI key; error lines name the option by it
    const char *flag; // --flag
    const char *env; // WINGMAN_<env>
    const char *valueName; // null: a switch, true when given
    Binding binding;
    const char *help; // --help appends the default, read from ServerConfig's initializer
    const char *unset = nullptr; // what an empty default means, for --help
};

constexpr qint64 kNoMax = std::numeric_limits<qint64>::max();

QString bad(const QString &option, const QString &value, const QString &why)
{
    return QStringLiteral("invalid value for %1: '%2' (%3)").arg(option, value, why);
}

QString bad(const Option &option, const QString &value, const QString &why)
{
    return bad(QString::fromLatin1(option.name), value, why);
}

std::optional<qint64> parseInteger(const QString &value, qint64 min, qint64 max)
{
    bool ok = false;
    const qint64 n = value.trimmed().toLongLong(&ok);
    if (!ok || n < min || n > max)
        return std::nullopt;
    return n;
}

template <class T> QString parseBounded(const Option &option, const QString &value, T &out)
{
    const qint64 min = option.binding.min;
    const qint64 max = option.binding.max;
    const auto n = parseInteger(value, min, max);
    if (n) {
        out = T(*n);
        return {};
    }
    if (max == kNoMax && min == 1)
        return bad(option, value, QStringLiteral("expected a positive integer"));
    if (max == kNoMax && min == 0)
        return bad(option, value, QStringLiteral("expected a non-negative integer"));
    return bad(option, value, QStringLiteral("expected an integer %1-%2").arg(min).arg(max));
}

// Parsed as unsigned, so '-0' is refused too.
std::optional<quint16> portNumber(const QString &value)
{
    bool ok = false;
    const uint port = value.trimmed().toUInt(&ok);
    if (!ok || port > 65535)
        return std::nullopt;
    return quint16(port);
}

QString parsePort(const Option &option, const QString &value, quint16 &out)
{
    const auto port = portNumber(value);
    if (!port)
        return bad(option, value, QStringLiteral("expected a port 0-65535"));
    out = *port;
    return {};
}

QString parseOptionalPort(const Option &option, const QString &value, std::optional<quint16> &out)
{
    if (value.trimmed() == u"off") {
        out.reset();
        return {};
    }
    quint16 port = 0;
    const QString error = parsePort(option, value, port);
    if (error.isEmpty())
        out = port;
    return error;
}

QString parseBool(const Option &option, const QString &value, bool &out)
{
    const QString v = value.trimmed().toLower();
    if (v == u"true" || v == u"1" || v == u"yes" || v == u"on")
        out = true;
    else if (v == u"false" || v == u"0" || v == u"no" || v == u"off")
        out = false;
    else
        return bad(option, value, QStringLiteral("expected true or false"));
    return {};
}

QString parseHost(const Option &option, const QString &value, QString &out)
{
    QHostAddress address;
    if (!address.setAddress(value.trimmed()))
        return bad(option, value, QStringLiteral("expected an IP address"));
    out = value.trimmed();
    return {};
}

// A list of host:port with a non-zero port; the error quotes the bad peer, not the whole list.
QString parsePeers(const Option &option, const QString &value, QStringList &out)
{
    for (const QString &part : value.split(u',', Qt::SkipEmptyParts)) {
        const QString peer = part.trimmed();
        const qsizetype colon = peer.lastIndexOf(u':');
        if (colon <= 0)
            return bad(option, peer, QStringLiteral("expected host:port"));
        const auto port = portNumber(peer.mid(colon + 1));
        if (!port || *port == 0)
            return bad(option, peer, QStringLiteral("port must be 1-65535"));
        out << peer;
    }
    return {};
}

// Comma-separated map-name patterns; blanks between commas are skipped.
QString parsePatterns(const Option &, const QString &value, QStringList &out)
{
    for (const QString &part : value.split(u',', Qt::SkipEmptyParts)) {
        if (!part.trimmed().isEmpty())
            out << part.trimmed();
    }
    return {};
}

// A timestamp's string form splits on ':', and the id is part of it.
QString parseNodeId(const Option &option, const QString &value, QString &out)
{
    const auto printable = [](QChar c) { return c != u':' && !c.isSpace() && c.isPrint(); };
    if (value.isEmpty() || value.size() > 128
        || !std::all_of(value.begin(), value.end(), printable))
        return bad(option, value,
            QStringLiteral("must be 1-128 printable characters without ':' or spaces"));
    out = value;
    return {};
}

QString parseSecret(const Option &option, const QString &value, QByteArray &out)
{
    if (value.isEmpty())
        return bad(option, value, QStringLiteral("must not be empty"));
    out = value.toUtf8();
    return {};
}

QString parseClusterSecret(const Option &option, const QString &value, QByteArray &out)
{
    const QByteArray secret = value.toUtf8();
    if (secret.size() < 16)
        return bad(option, QStringLiteral("(%1 bytes)").arg(secret.size()),
            QStringLiteral("must be at least 16 bytes"));
    out = secret;
    return {};
}

// A host name or address that others can dial: no spaces, no port.
QString parseAdvertiseHost(const Option &option, const QString &value, QString &out)
{
    const QString host = value.trimmed();
    const bool ok = !host.isEmpty() && host.size() <= 253
        && std::none_of(host.begin(), host.end(), [](QChar c) { return c.isSpace() || c == u'/'; })
        && (QHostAddress(host).protocol() == QAbstractSocket::IPv6Protocol || !host.contains(u':'));
    if (!ok)
        return bad(option, value, QStringLiteral("expected a host name or IP address"));
    out = host;
    return {};
}

QString parseReadableFile(const Option &option, const QString &value, QString &out)
{
    QFile file(value.trimmed());
    if (value.trimmed().isEmpty() || !file.open(QIODevice::ReadOnly))
        return bad(option, value,
            value.trimmed().isEmpty() ? QStringLiteral("must not be empty") : file.errorString());
    out = value.trimmed();
    return {};
}

QString readKeyFile(const Option &option, const QString &path, QByteArray &out)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return bad(option, path, file.errorString());
    out = file.readAll().trimmed();
    if (out.isEmpty())
        return bad(option, path, QStringLiteral("file is empty"));
    return {};
}

// A storage URL may carry a password: the error quotes it redacted.
QString parseStorage(const Option &option, const QString &value, QString &out)
{
    QString why;
    if (!storage::StorageUrl::parse(value, &why))
        return bad(option, storage::StorageUrl::redacted(value), why);
    out = value.trimmed();
    return {};
}

QString parseDurability(const Option &option, const QString &value, QString &out)
{
    const QString mode = value.trimmed().toLower();
    if (mode != u"full" && mode != u"relaxed")
        return bad(option, value, QStringLiteral("expected full or relaxed"));
    out = mode;
    return {};
}

QString parseFullTextSearch(const Option &option, const QString &value, QString &out)
{
    QString why;
    if (!search::SearchConfig::parse(value, &why))
        return bad(option, value, why);
    out = value.simplified();
    return {};
}

template <auto Member>
using MemberType = std::remove_cvref_t<decltype(std::declval<ServerConfig &>().*Member)>;

template <class T> QString display(const T &value)
{
    if constexpr (std::is_same_v<T, bool>)
        return value ? QStringLiteral("true") : QStringLiteral("false");
    else if constexpr (std::is_integral_v<T>)
        return QString::number(value);
    else if constexpr (std::is_same_v<T, QString>)
        return value;
    else if constexpr (std::is_same_v<T, QByteArray>)
        return QString::fromUtf8(value);
    else if constexpr (std::is_same_v<T, QStringList>)
        return value.join(u',');
    else
        return value ? display(*value) : QString(); // std::optional
}

template <auto Member, auto Parse>
QString assign(const Option &option, ServerConfig &config, const QString &value)
{
    // Parsed aside, so a refused value leaves the member as it was.
    MemberType<Member> parsed {};
    if (const QString error = Parse(option, value, parsed); !error.isEmpty())
        return error;
    config.*Member = std::move(parsed);
    return {};
}

template <auto Member> QString printMember(const ServerConfig &config)
{
    return display(config.*Member);
}

template <auto Member, auto Parse> constexpr Binding bind(qint64 min = 0, qint64 max = kNoMax)
{
    static_assert(std::is_invocable_r_v<QString, decltype(Parse), const Option &, const QString &,
                      MemberType<Member> &>,
        "the parser fills a value of the member's type");
    return { &assign<Member, Parse>, &printMember<Member>, min, max };
}

template <auto Member> constexpr Binding integer(qint64 min, qint64 max = kNoMax)
{
    return bind<Member, parseBounded<MemberType<Member>>>(min, max);
}

using C = ServerConfig;

// Every option, in --help order. The defaults are ServerConfig's member initializers.
constexpr Option kOptions[] = {
    { "port", "port", "PORT", "port", bind<&C::port, parsePort>(),
        "Client WebSocket port (0 = OS-assigned)." },
    { "host", "host", "HOST", "address", bind<&C::host, parseHost>(),
        "Bind address for both listeners." },
    { "clusterPort", "cluster-port", "CLUSTER_PORT", "port", bind<&C::clusterPort, parsePort>(),
        "Peer TCP port (0 = OS-assigned)." },
    { "peers", "peers", "PEERS", "host:port,...", bind<&C::peers, parsePeers>(),
        "Other nodes' cluster ports.", "none" },
    { "clusterSecret", "cluster-secret", "CLUSTER_SECRET", "secret",
        bind<&C::clusterSecret, parseClusterSecret>(),
        "Shared secret (>= 16 bytes) that authenticates cluster peers; required with --peers.",
        "none" },
    { "advertiseHost", "advertise-host", "ADVERTISE_HOST", "host",
        bind<&C::advertiseHost, parseAdvertiseHost>(),
        "Host that peers and clients are told to reach this node at.",
        "host, or the host name when host is 0.0.0.0" },
    { "clusterAdvertisePort", "cluster-advertise-port", "CLUSTER_ADVERTISE_PORT", "port",
        bind<&C::clusterAdvertisePort, parsePort>(),
        "Cluster port that peers are told to dial (0 = the bound cluster port)." },
    { "backupCount", "backup-count", "BACKUP_COUNT", "n", integer<&C::backupCount>(0, 6),
        "Backups per partition." },
    { "probeIntervalMs", "probe-interval-ms", "PROBE_INTERVAL_MS", "ms",
        integer<&C::probeIntervalMs>(10, 60000), "How often every member is probed." },
    { "suspicionTimeoutMs", "suspicion-timeout-ms", "SUSPICION_TIMEOUT_MS", "ms",
        integer<&C::suspicionTimeoutMs>(10, 600000),
        "How long a suspect member may refute before it is down." },
    { "antiEntropyIntervalMs", "anti-entropy-interval-ms", "ANTI_ENTROPY_INTERVAL_MS", "ms",
        integer<&C::antiEntropyIntervalMs>(100, 86400000), "Periodic anti-entropy per pair." },
    { "joinTimeoutMs", "join-timeout-ms", "JOIN_TIMEOUT_MS", "ms",
        integer<&C::joinTimeoutMs>(0, 600000),
        "How long a starting node waits for a catch-up before it comes up alone." },
    { "leaveTimeoutMs", "leave-timeout-ms", "LEAVE_TIMEOUT_MS", "ms",
        integer<&C::leaveTimeoutMs>(0, 600000), "Drain time when leaving the cluster." },
    { "memberForgetAfterMs", "member-forget-after-ms", "MEMBER_FORGET_AFTER_MS", "ms",
        integer<&C::memberForgetAfterMs>(1000), "When a down member is forgotten." },
    { "clusterTlsCert", "cluster-tls-cert", "CLUSTER_TLS_CERT", "file",
        bind<&C::clusterTlsCert, parseReadableFile>(),
        "PEM certificate of this node for TLS on peer links (with key and CA).", "off" },
    { "clusterTlsKey", "cluster-tls-key", "CLUSTER_TLS_KEY", "file",
        bind<&C::clusterTlsKey, parseReadableFile>(), "PEM private key for --cluster-tls-cert.",
        "off" },
    { "clusterTlsCa", "cluster-tls-ca", "CLUSTER_TLS_CA", "file",
        bind<&C::clusterTlsCa, parseReadableFile>(),
        "PEM CA certificates that every peer's certificate must chain to.", "off" },
    { "tlsCert", "tls-cert", "TLS_CERT", "file", bind<&C::tlsCert, parseReadableFile>(),
        "PEM certificate chain (leaf first): clients connect with wss://, metrics over HTTPS.",
        "off" },
    { "tlsKey", "tls-key", "TLS_KEY", "file", bind<&C::tlsKey, parseReadableFile>(),
        "PEM private key of --tls-cert.", "off" },
    { "nodeId", "node-id", "NODE_ID", "id", bind<&C::nodeId, parseNodeId>(),
        "This node's id (no ':').", "the one kept with the storage, else generated" },
    { "jwtSecret", "jwt-secret", "JWT_SECRET", "secret", bind<&C::jwtSecret, parseSecret>(),
        "HS256 secret, or a PEM public key for RS256; the default is for development only." },
    { "jwtKeyFile", "jwt-key-file", "JWT_KEY_FILE", "file",
        bind<&C::jwtSecret, readKeyFile>().withoutDefault(),
        "Read the JWT secret or PEM public key from a file." },
    { "metricsPort", "metrics-port", "METRICS_PORT", "port",
        bind<&C::metricsPort, parseOptionalPort>(),
        "HTTP metrics/health port (0 = OS-assigned, off = none).", "off" },
    { "storage", "storage", "STORAGE", "url", bind<&C::storage, parseStorage>(),
        "Storage: memory:, sqlite:<path> or postgres://user:password@host:port/db." },
    { "durability", "durability", "DURABILITY", "full|relaxed",
        bind<&C::durability, parseDurability>(),
        "full: each commit is flushed to disk before its ack (SQLite synchronous=FULL, "
        "PostgreSQL synchronous_commit=on); relaxed: survives a killed process, not power loss." },
    { "gcIntervalMs", "gc-interval-ms", "GC_INTERVAL_MS", "ms", integer<&C::gcIntervalMs>(1),
        "GC cadence." },
    { "gcAgeMs", "gc-age-ms", "GC_AGE_MS", "ms", integer<&C::gcAgeMs>(1), "Tombstone horizon." },
    { "maxFrameBytes", "max-frame-bytes", "MAX_FRAME_BYTES", "bytes", integer<&C::maxFrameBytes>(1),
        "Largest accepted frame." },
    { "outboundBudgetBytes", "outbound-budget-bytes", "OUTBOUND_BUDGET_BYTES", "bytes",
        integer<&C::outboundBudgetBytes>(1), "Per-connection outbound queue budget." },
    { "slowConsumerGraceMs", "slow-consumer-grace-ms", "SLOW_CONSUMER_GRACE_MS", "ms",
        integer<&C::slowConsumerGraceMs>(1), "How long a connection may stay over budget." },
    { "authTimeoutMs", "auth-timeout-ms", "AUTH_TIMEOUT_MS", "ms", integer<&C::authTimeoutMs>(1),
        "Close a connection that has not authenticated by then (4001)." },
    { "maxConnections", "max-connections", "MAX_CONNECTIONS", "count",
        integer<&C::maxConnections>(1), "Client connections beyond this are refused (1013)." },
    { "maxPendingAuth", "max-pending-auth", "MAX_PENDING_AUTH", "count",
        integer<&C::maxPendingAuth>(1), "Unauthenticated connections beyond this are refused." },
    { "maxConnectionsPerIpPerSecond", "max-connections-per-ip-per-second",
        "MAX_CONNECTIONS_PER_IP_PER_SECOND", "count", integer<&C::maxConnectionsPerIpPerSecond>(0),
        "New connections one address may open per second (0 = off)." },
    { "shutdownDrainMs", "shutdown-drain-ms", "SHUTDOWN_DRAIN_MS", "ms",
        integer<&C::shutdownDrainMs>(0, 600000),
        "On SIGTERM, how long in-flight ops may take to be acked and clients to close." },
    { "writeAckTimeoutMs", "write-ack-timeout-ms", "WRITE_ACK_TIMEOUT_MS", "ms",
        integer<&C::writeAckTimeoutMs>(1), "Longest wait for peers' acks before a degraded ack." },
    { "hintQueueBytes", "hint-queue-bytes", "HINT_QUEUE_BYTES", "bytes",
        integer<&C::hintQueueBytes>(1), "Per-peer bound of unacked replication batches." },
    { "maxClockDriftMs", "max-clock-drift-ms", "MAX_CLOCK_DRIFT_MS", "ms",
        integer<&C::maxClockDriftMs>(1),
        "Refuse client timestamps further ahead of this node's clock." },
    { "rateLimitOpsPerSecond", "rate-limit-ops-per-second", "RATE_LIMIT_OPS_PER_SECOND", "ops",
        integer<&C::rateLimitOpsPerSecond>(0), "Per-client write rate limit (0 = off)." },
    { "rateLimitBurst", "rate-limit-burst", "RATE_LIMIT_BURST", "ops",
        integer<&C::rateLimitBurst>(0),
        "Ops a client may send at once under the rate limit (0 = the rate)." },
    { "processorTimeoutMs", "processor-timeout-ms", "PROCESSOR_TIMEOUT_MS", "ms",
        integer<&C::processorTimeoutMs>(1, 60000),
        "Time limit of one entry processor or conflict resolver call." },
    { "processorThreads", "processor-threads", "PROCESSOR_THREADS", "n",
        integer<&C::processorThreads>(1, 64), "Worker threads running entry processor scripts." },
    { "processorMemoryBytes", "processor-memory-bytes", "PROCESSOR_MEMORY_BYTES", "bytes",
        integer<&C::processorMemoryBytes>(0),
        "Process memory growth allowed during one script call (0 = unchecked)." },
    { "processorMaxCodeChars", "processor-max-code-chars", "PROCESSOR_MAX_CODE_CHARS", "chars",
        integer<&C::processorMaxCodeChars>(1, 1000000),
        "Longest entry processor code (resolver code: 5 times this)." },
    { "processorMaxResultBytes", "processor-max-result-bytes", "PROCESSOR_MAX_RESULT_BYTES",
        "bytes", integer<&C::processorMaxResultBytes>(1),
        "Largest value or result a script may return, as JSON text." },
    { "stampServerTimestamps", "stamp-server-timestamps", "STAMP_SERVER_TIMESTAMPS", "bool",
        bind<&C::stampServerTimestamps, parseBool>(),
        "Replace client record timestamps with the server's clock." },
    { "eventJournalEnabled", "event-journal-enabled", "EVENT_JOURNAL_ENABLED", "bool",
        bind<&C::eventJournalEnabled, parseBool>(),
        "Keep the event journal (JOURNAL_READ, JOURNAL_SUBSCRIBE); off: they get ERROR 503." },
    { "eventJournalCapacity", "event-journal-capacity", "EVENT_JOURNAL_CAPACITY", "events",
        integer<&C::eventJournalCapacity>(1, 1000000), "Newest journal events kept." },
    { "eventJournalTtlMs", "event-journal-ttl-ms", "EVENT_JOURNAL_TTL_MS", "ms",
        integer<&C::eventJournalTtlMs>(0),
        "Journal events older than this are dropped (0 = never)." },
    { "eventJournalMaps", "event-journal-maps", "EVENT_JOURNAL_MAPS", "pattern,...",
        bind<&C::eventJournalMaps, parsePatterns>(),
        "Maps whose changes are journaled ('*' any run).", "every map" },
    { "eventJournalExcludeMaps", "event-journal-exclude-maps", "EVENT_JOURNAL_EXCLUDE_MAPS",
        "pattern,...", bind<&C::eventJournalExcludeMaps, parsePatterns>(),
        "Maps whose changes are not journaled ('*' any run).", "none" },
    { "fullTextSearch", "full-text-search", "FULL_TEXT_SEARCH", "map:field+field[:k1=x][:b=y] ...",
        bind<&C::fullTextSearch, parseFullTextSearch>(),
        "Maps with full-text search (LWW maps), each with the fields it indexes and optional "
        "BM25 k1 and b.",
        "none" },
    { "production", "production", "PRODUCTION", nullptr, bind<&C::production, parseBool>(),
        "Refuse to start with the development JWT secret or memory storage." },
    { "allowMemoryStorage", "allow-memory-storage", "ALLOW_MEMORY_STORAGE", nullptr,
        bind<&C::allowMemoryStorage, parseBool>(), "With --production, accept memory: storage." },
};

// The option whose column (name, flag or env) is key.
const Option *findOption(const char *Option::*column, QStringView key)
{
    for (const Option &option : kOptions) {
        if (key == QLatin1StringView(option.*column))
            return &option;
    }
    return nullptr;
}

QString helpText(const Option &option, const ServerConfig &defaults)
{
    QString text = QString::fromLatin1(option.help);
    // A switch is off unless given; saying so adds nothing.
    if (!option.valueName || !option.binding.print)
        return text;
    QString value = option.binding.print(defaults);
    if (value.isEmpty() && option.unset)
        value = QString::fromLatin1(option.unset);
    if (!value.isEmpty())
        text += QStringLiteral(" Default: %1.").arg(value);
    return text;
}

} // namespace

QString ServerConfig::set(const QString &option, const QString &value)
{
    const Option *row = findOption(&Option::name, option);
    if (!row)
        return QStringLiteral("unknown option '%1'").arg(option);
    return row->binding.set(*row, *this, value);
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

QString ServerConfig::clusterProblem() const
{
    const int tlsFiles = int(!clusterTlsCert.isEmpty()) + int(!clusterTlsKey.isEmpty())
        + int(!clusterTlsCa.isEmpty());
    if (tlsFiles != 0 && tlsFiles != 3)
        return QStringLiteral("cluster: TLS needs all of --cluster-tls-cert, --cluster-tls-key "
                              "and --cluster-tls-ca");
    if (!peers.isEmpty() && clusterSecret.isEmpty())
        return QStringLiteral("cluster: --peers needs --cluster-secret (WINGMAN_CLUSTER_SECRET), "
                              "at least 16 bytes shared by every node");
    return {};
}

QString ServerConfig::effectiveAdvertiseHost() const
{
    if (!advertiseHost.isEmpty())
        return advertiseHost;
    const QHostAddress address(host);
    if (address == QHostAddress::AnyIPv4 || address == QHostAddress::AnyIPv6
        || address == QHostAddress::Any)
        return QHostInfo::localHostName();
    return host;
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

ServerConfig::ParseResult ServerConfig::fromCommandLine(
    const QStringList &arguments, const QProcessEnvironment &environment)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Wingman: offline-first CRDT sync server"));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    // Not a row: it names where the other options come from.
    const QCommandLineOption configOption(QStringLiteral("config"),
        QStringLiteral("Read options from an INI file."), QStringLiteral("file"));
    parser.addOption(configOption);
    const ServerConfig defaults;
    for (const Option &option : kOptions) {
        parser.addOption(QCommandLineOption(QString::fromLatin1(option.flag),
            helpText(option, defaults), QString::fromLatin1(option.valueName)));
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
        result.message = QStringLiteral("%1 %2").arg(
            QCoreApplication::applicationName(), QCoreApplication::applicationVersion());
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
        const Option *option = findOption(&Option::env, QStringView(key).mid(8));
        if (!option)
            return fail(QStringLiteral("unknown environment variable %1").arg(key));
        if (const QString error = option->binding.set(*option, config, environment.value(key));
            !error.isEmpty())
            return fail(QStringLiteral("%1: %2").arg(key, error));
    }

    for (const Option &option : kOptions) {
        const QString flag = QString::fromLatin1(option.flag);
        if (!parser.isSet(flag))
            continue;
        const QString value = option.valueName ? parser.value(flag) : QStringLiteral("true");
        if (const QString error = option.binding.set(option, config, value); !error.isEmpty())
            return fail(QStringLiteral("--%1: %2").arg(flag, error));
    }

    if (const QString problem = config.productionProblem(); !problem.isEmpty())
        return fail(problem);
    if (const QString problem = config.clusterProblem(); !problem.isEmpty())
        return fail(problem);
    result.config = config;
    return result;
}

} // namespace wingman

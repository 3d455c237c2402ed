#pragma once

#include "auth/SecurityPolicy.h"

#include <QList>
#include <QLoggingCategory>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>
#include <optional>

namespace wingman {

namespace ops {
class Interceptor;
}

Q_DECLARE_LOGGING_CATEGORY(lcConfig)

// Every option of a node. Filled from defaults, then an INI file (--config), then WINGMAN_*
// environment variables, then command-line flags; each later source overrides the earlier.
// The initializers below are the defaults; the option table in ServerConfig.cpp binds each
// option's INI key, flag and variable to its member, and --help shows these defaults.
struct ServerConfig {
    static constexpr const char *kDevSecret = "topgun-secret-dev";

    quint16 port = 8080;
    QString host = QStringLiteral("0.0.0.0");
    quint16 clusterPort = 9080;
    QStringList peers; // host:port
    QString nodeId; // empty: the one stored in SQLite storage, else generated at startup
    QByteArray jwtSecret = kDevSecret; // HS256 secret or PEM public key (RS256)
    std::optional<quint16> metricsPort; // unset: no metrics listener
    // Cluster (docs/cluster.md §9).
    QByteArray clusterSecret; // shared HMAC secret, >= 16 bytes; required with peers
    QString advertiseHost; // empty: host, or the host name when host is 0.0.0.0
    quint16 clusterAdvertisePort = 0; // 0: the cluster port actually bound
    int backupCount = 1;
    int probeIntervalMs = 500;
    int suspicionTimeoutMs = 1500;
    int antiEntropyIntervalMs = 5000;
    int joinTimeoutMs = 3000;
    int leaveTimeoutMs = 5000;
    qint64 memberForgetAfterMs = 24LL * 60 * 60 * 1000;
    // PEM files; all three or none: TLS on peer links with mutual verification against the CA.
    QString clusterTlsCert;
    QString clusterTlsKey;
    QString clusterTlsCa;
    // PEM files, both or neither: clients connect over wss:// and the metrics port serves HTTPS.
    QString tlsCert;
    QString tlsKey;
    QString storage = QStringLiteral("sqlite:./wingman-data/wingman.db"); // see StorageUrl
    // full: every group commit is flushed to disk before its ack (survives power loss);
    // relaxed: it survives the process being killed, not an OS crash, and commits faster.
    QString durability = QStringLiteral("full");
    qint64 gcIntervalMs = 60LL * 60 * 1000;
    qint64 gcAgeMs = 30LL * 24 * 60 * 60 * 1000;
    qint64 maxFrameBytes = 16LL * 1024 * 1024;
    qint64 outboundBudgetBytes = 8LL * 1024 * 1024;
    qint64 slowConsumerGraceMs = 2000;
    qint64 authTimeoutMs = 10000; // a connection without AUTH by then is closed (4001)
    qint64 maxConnections = 10000; // beyond: close 1013
    qint64 maxPendingAuth = 1000; // connections not yet authenticated; beyond: close 1013
    qint64 maxConnectionsPerIpPerSecond = 50; // 0: no limit; beyond: close 1013
    // How long a shutdown may take to answer the ops in progress and close every client.
    qint64 shutdownDrainMs = 5000;
    qint64 writeAckTimeoutMs = 5000; // longest wait for a write's peer acks (docs/cluster.md §4)
    qint64 hintQueueBytes = 64LL * 1024 * 1024; // per-peer queue of unacked REPLICATE batches
    // How far ahead of this node's clock a client's record timestamp may be; an op beyond it is
    // refused, and no timestamp moves the node's clock further than this past its wall clock.
    qint64 maxClockDriftMs = 60000;
    qint64 rateLimitOpsPerSecond = 0; // per client; 0: no rate limit
    qint64 rateLimitBurst = 0; // 0: as many as rateLimitOpsPerSecond
    bool stampServerTimestamps = false;
    // Entry processors and conflict resolvers (docs/protocol.md): the sandbox's limits per call.
    qint64 processorTimeoutMs = 100;
    qint64 processorThreads = 2; // worker threads running processor scripts
    qint64 processorMemoryBytes = 64LL * 1024 * 1024; // process growth allowed during one call
    qint64 processorMaxCodeChars = 10000; // a processor's code; a resolver's may be 5x as long
    qint64 processorMaxResultBytes = 1024 * 1024; // JSON text of a returned value or result
    // The event journal (docs/protocol.md "Event journal"): off unless asked for, as it costs an
    // append per write and keeps the values of every journaled map.
    bool eventJournalEnabled = false;
    qint64 eventJournalCapacity = 10000; // events kept
    qint64 eventJournalTtlMs = 0; // 0: no age limit
    QStringList eventJournalMaps; // map-name patterns ('*' any run); empty: every map
    QStringList eventJournalExcludeMaps; // map-name patterns left out
    // Maps with full-text search and their fields (search::SearchConfig); empty: none.
    QString fullTextSearch;
    // Refuse what is only fit for development: the built-in JWT secret, and memory storage
    // unless allowMemoryStorage.
    bool production = false;
    bool allowMemoryStorage = false;
    QString configFile; // the INI file the options came from, if any
    auth::SecurityPolicy policy; // [policies] of the INI file; default: ADMIN and USER do all
    // Epoch milliseconds for the node's clock; empty means the system clock. Library use only:
    // tests move time with it.
    std::function<qint64()> clock;
    // Run on every connection and op in this order, after the rate limiter and before the
    // timestamp stamper when those are on. Library use only.
    QList<std::shared_ptr<ops::Interceptor>> interceptors;
    // How often the monitor feed sends a stats delta. Library use only.
    int monitorFeedIntervalMs = 1000;

    bool usesDevSecret() const { return jwtSecret == kDevSecret; }
    // Under production, why this config must not run (one line naming the option to set);
    // empty when it may.
    QString productionProblem() const;
    // Why the cluster options cannot run together (peers without a clusterSecret); empty when
    // they can.
    QString clusterProblem() const;
    // The host other nodes and clients are told to reach this node at.
    QString effectiveAdvertiseHost() const;

    struct ParseResult;
    static ParseResult fromCommandLine(
        const QStringList &arguments, const QProcessEnvironment &environment);

    // Applies one option by its INI name ("clusterPort"); returns an error line naming the option
    // and the value, or an empty string.
    QString set(const QString &option, const QString &value);
    // Applies every key of an INI file; the first bad key or value is the error.
    QString loadFile(const QString &path);
};

// Outcome of reading the command line: a config to run, or a message and an exit code
// (0 for --help/--version, 2 for a bad option value).
struct ServerConfig::ParseResult {
    std::optional<ServerConfig> config;
    QString message;
    int exitCode = 0;
};

} // namespace wingman

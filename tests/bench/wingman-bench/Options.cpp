#include "Options.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageAuthenticationCode>

#include <cstdio>

namespace wingman::bench {

namespace {

QByteArray base64Url(const QByteArray &data)
{
    return data.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

// HS256 JWT with sub "bench", roles ["USER"], valid for an hour.
QByteArray mintToken(const QByteArray &secret)
{
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    const QJsonObject header { { "alg", "HS256" }, { "typ", "JWT" } };
    const QJsonObject claims { { "sub", "bench" }, { "roles", QJsonArray { "USER" } },
        { "iat", now }, { "exp", now + 3600 } };
    const QByteArray signingInput = base64Url(QJsonDocument(header).toJson(QJsonDocument::Compact))
        + '.' + base64Url(QJsonDocument(claims).toJson(QJsonDocument::Compact));
    const QByteArray signature
        = QMessageAuthenticationCode::hash(signingInput, secret, QCryptographicHash::Sha256);
    return signingInput + '.' + base64Url(signature);
}

} // namespace

std::optional<Options> parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Load generator for servers speaking the TopGun wire protocol."));
    parser.addHelpOption();
    const QCommandLineOption url(QStringLiteral("url"),
        QStringLiteral("Server to drive; repeat it (or list several, comma-separated) to drive "
                       "a cluster: writer i and subscriber i connect to url[i % n]."),
        QStringLiteral("ws://host:port"), QStringLiteral("ws://127.0.0.1:8080"));
    const QCommandLineOption token(QStringLiteral("token"),
        QStringLiteral("JWT to authenticate with (default: mint an "
                       "HS256 token for --secret)."),
        QStringLiteral("jwt"));
    const QCommandLineOption secret(QStringLiteral("secret"),
        QStringLiteral("HS256 secret to mint the token with."), QStringLiteral("secret"),
        QStringLiteral("topgun-secret-dev"));
    const QCommandLineOption connections(QStringLiteral("connections"),
        QStringLiteral("Writer connections."), QStringLiteral("C"), QStringLiteral("10"));
    const QCommandLineOption duration(QStringLiteral("duration"),
        QStringLiteral("Measured seconds, after 1 s of warm-up."), QStringLiteral("D"),
        QStringLiteral("10"));
    const QCommandLineOption batch(QStringLiteral("batch"), QStringLiteral("PUTs per OP_BATCH."),
        QStringLiteral("B"), QStringLiteral("100"));
    const QCommandLineOption subscribers(QStringLiteral("subscribers"),
        QStringLiteral("Subscriber connections."), QStringLiteral("S"), QStringLiteral("2"));
    const QCommandLineOption window(QStringLiteral("window"),
        QStringLiteral("Batches in flight per connection."), QStringLiteral("W"),
        QStringLiteral("4"));
    const QCommandLineOption map(QStringLiteral("map"), QStringLiteral("Map to write."),
        QStringLiteral("name"), QStringLiteral("bench"));
    const QCommandLineOption serverPid(QStringLiteral("server-pid"),
        QStringLiteral("Server process to sample CPU and RSS of."), QStringLiteral("pid"));
    const QCommandLineOption spawn(QStringLiteral("spawn"),
        QStringLiteral("Start this wingman-server binary on free "
                       "loopback ports, drive it, stop it."),
        QStringLiteral("path"));
    const QCommandLineOption storage(QStringLiteral("storage"),
        QStringLiteral("Storage URL of the spawned server (memory:, sqlite:<file>, postgres://…)."),
        QStringLiteral("url"), QStringLiteral("memory:"));
    const QCommandLineOption serverArg(QStringLiteral("server-arg"),
        QStringLiteral("One more argument for the spawned server (repeatable), e.g. "
                       "--server-arg=--outbound-budget-bytes=268435456."),
        QStringLiteral("arg"));
    const QCommandLineOption baseline(QStringLiteral("baseline"),
        QStringLiteral("Drive an in-process echo server (same "
                       "frames, no logic) instead."));
    const QCommandLineOption threads(QStringLiteral("threads"),
        QStringLiteral("Client threads the connections share."), QStringLiteral("N"),
        QStringLiteral("1"));
    const QCommandLineOption query(QStringLiteral("query"),
        QStringLiteral("The subscribers' live query as JSON, e.g. "
                       "'{\"sort\":{\"n\":\"desc\"},\"limit\":10}' (default: every record)."),
        QStringLiteral("json"), QStringLiteral("{}"));
    const QCommandLineOption mode(QStringLiteral("mode"),
        QStringLiteral("writes (OP_BATCH load), topics (one publisher, S subscribers: messages "
                       "delivered/s), locks (C connections acquiring and releasing: round "
                       "trips/s) or restart (fill a fresh SQLite database with --records records "
                       "through the --spawn server, C connections, batches of B, then restart "
                       "the server on it --runs times: spawn to ready line, RSS after ready)."),
        QStringLiteral("mode"), QStringLiteral("writes"));
    const QCommandLineOption records(QStringLiteral("records"),
        QStringLiteral("--mode restart: records to fill the database with (distinct keys, small "
                       "values)."),
        QStringLiteral("N"), QStringLiteral("1000000"));
    const QCommandLineOption runs(QStringLiteral("runs"),
        QStringLiteral("--mode restart: restarts to measure on the filled database."),
        QStringLiteral("R"), QStringLiteral("3"));
    parser.addOptions({ url, token, secret, connections, duration, batch, subscribers, window, map,
        serverPid, spawn, storage, serverArg, baseline, threads, mode, query, records, runs });
    parser.process(app);

    const auto fail = [](const QString &message) -> std::optional<Options> {
        std::fprintf(stderr, "wingman-bench: %s\n", qPrintable(message));
        return std::nullopt;
    };
    Options options;
    const auto readInt
        = [&parser](const QCommandLineOption &option, int minimum, int maximum, int *out) {
              bool ok = false;
              const int value = parser.value(option).toInt(&ok);
              if (!ok || value < minimum || value > maximum)
                  return false;
              *out = value;
              return true;
          };
    struct IntOption {
        const QCommandLineOption *option;
        int *target;
        int minimum;
        int maximum;
    };
    const IntOption intOptions[] = {
        { &connections, &options.connections, 1, 10'000 },
        { &duration, &options.durationS, 1, 3'600 },
        { &batch, &options.batch, 1, 100'000 },
        { &subscribers, &options.subscribers, 0, 10'000 },
        { &window, &options.window, 1, 10'000 },
        { &threads, &options.threads, 1, 64 },
        { &records, &options.records, 1, 100'000'000 },
        { &runs, &options.runs, 1, 1'000 },
    };
    for (const IntOption &o : intOptions) {
        if (!readInt(*o.option, o.minimum, o.maximum, o.target))
            return fail(QStringLiteral("--%1 must be an integer in [%2, %3], not '%4'")
                            .arg(o.option->names().first())
                            .arg(o.minimum)
                            .arg(o.maximum)
                            .arg(parser.value(*o.option)));
    }

    QJsonParseError queryError;
    const QJsonDocument queryJson
        = QJsonDocument::fromJson(parser.value(query).toUtf8(), &queryError);
    if (queryError.error != QJsonParseError::NoError || !queryJson.isObject())
        return fail(
            QStringLiteral("--query must be a JSON object, not '%1'").arg(parser.value(query)));
    options.query = QCborMap::fromJsonObject(queryJson.object());
    options.mode = parser.value(mode);
    if (options.mode != QLatin1String("writes") && options.mode != QLatin1String("topics")
        && options.mode != QLatin1String("locks") && options.mode != QLatin1String("restart"))
        return fail(QStringLiteral("--mode must be writes, topics, locks or restart, not '%1'")
                        .arg(options.mode));
    options.baseline = parser.isSet(baseline);
    if (options.baseline && options.mode != QLatin1String("writes"))
        return fail(QStringLiteral("--baseline only drives --mode writes"));
    options.spawnPath = parser.value(spawn);
    options.spawnStorage = parser.value(storage);
    options.spawnArguments = parser.values(serverArg);
    if (options.baseline && !options.spawnPath.isEmpty())
        return fail(QStringLiteral("--baseline and --spawn exclude each other"));
    if (options.mode == QLatin1String("restart")) {
        if (options.spawnPath.isEmpty())
            return fail(QStringLiteral("--mode restart needs --spawn (the server it restarts)"));
        if (parser.isSet(storage))
            return fail(QStringLiteral("--mode restart fills its own SQLite database in a "
                                       "temporary directory; drop --storage"));
    }
    if ((options.baseline || !options.spawnPath.isEmpty()) && parser.isSet(url))
        return fail(QStringLiteral("--url drives an external server; drop it with --spawn or "
                                   "--baseline"));
    QStringList urlTexts;
    for (const QString &value : parser.values(url))
        urlTexts += value.split(u',', Qt::SkipEmptyParts);
    if (urlTexts.isEmpty())
        return fail(QStringLiteral("--url must name a server"));
    for (const QString &text : std::as_const(urlTexts)) {
        const QUrl parsed(text.trimmed());
        if (!parsed.isValid()
            || (parsed.scheme() != QLatin1String("ws") && parsed.scheme() != QLatin1String("wss")))
            return fail(QStringLiteral("--url must be ws://host:port, not '%1'").arg(text));
        options.urls.append(parsed);
    }
    options.url = options.urls.first();
    if (parser.isSet(serverPid)) {
        bool ok = false;
        options.serverPid = parser.value(serverPid).toLongLong(&ok);
        if (!ok || options.serverPid <= 0)
            return fail(QStringLiteral("--server-pid must be a process id"));
    }
    options.mapName = parser.value(map);
    if (options.mapName.isEmpty())
        return fail(QStringLiteral("--map must not be empty"));
    options.secret = parser.value(secret).toUtf8();
    options.token = parser.isSet(token) ? parser.value(token).toUtf8() : mintToken(options.secret);
    return options;
}

} // namespace wingman::bench

#include "RestartRun.h"

#include "Bench.h"
#include "FillClient.h"
#include "ProcessSampling.h"
#include "SpawnedServer.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace wingman::bench {

namespace {

// Loading a million records on a busy machine takes seconds, not the setup timeout's ten.
constexpr int kReadyTimeoutMs = 120'000;
constexpr int kFillCheckMs = 5'000;
constexpr qint64 kFillStallNs = 30'000 * kNsPerMs; // no ack for this long: fail
constexpr int kStopTimeoutMs = 60'000; // the graceful shutdown closes the database

double median(std::vector<double> values)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

QString mib(qint64 kib)
{
    return kib < 0 ? QStringLiteral("n/a") : QString::number(double(kib) / 1024.0, 'f', 1);
}

QString orNa(qint64 value)
{
    return value < 0 ? QStringLiteral("n/a") : QString::number(value);
}

// The median of the figures, or null when a spawn lacks one.
QJsonValue medianOf(const std::vector<qint64> &values)
{
    if (values.empty()
        || std::any_of(values.begin(), values.end(), [](qint64 value) { return value < 0; }))
        return QJsonValue();
    return median(std::vector<double>(values.begin(), values.end()));
}

} // namespace

RestartRun::RestartRun(const Options &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_readyTimer(new QTimer(this))
    , m_fillTimer(new QTimer(this))
{
    m_readyTimer->setSingleShot(true);
    connect(m_readyTimer, &QTimer::timeout, this, [this] {
        fail(QStringLiteral("the spawned server did not log its ready line within %1 s")
                 .arg(kReadyTimeoutMs / 1000),
            kExitSetup);
    });
    m_fillTimer->setInterval(kFillCheckMs);
    connect(m_fillTimer, &QTimer::timeout, this, &RestartRun::checkFillProgress);
}

void RestartRun::start()
{
    if (!m_dir.isValid()) {
        fail(QStringLiteral("cannot create a temporary directory: %1").arg(m_dir.errorString()),
            kExitSetup);
        return;
    }
    m_dbPath = m_dir.filePath(QStringLiteral("restart.db"));
    m_loadAverage = loadAverage();
    spawn();
}

void RestartRun::spawn()
{
    m_server = new SpawnedServer(this);
    connect(m_server, &SpawnedServer::failed, this, [this](const QString &reason) {
        fail(QStringLiteral("spawned server: %1").arg(reason),
            m_phase == Phase::Fill && m_fill.empty() ? kExitSetup : kExitRun);
    });
    connect(m_server, &SpawnedServer::ready, this, &RestartRun::onReady);
    m_readyTimer->start(kReadyTimeoutMs);
    m_spawnNs = nowNs();
    m_server->start(m_options.spawnPath, m_options.secret, QStringLiteral("sqlite:") + m_dbPath,
        m_options.spawnArguments);
}

RestartRun::Spawn RestartRun::readyFigures() const
{
    Spawn figures { double(nowNs() - m_spawnNs) / double(kNsPerMs), rssKib(m_server->pid()) };
    static const QRegularExpression opened(
        QStringLiteral("opened SQLite database .*: \\d+ maps, (\\d+) records and tombstones in "
                       "(\\d+) ms \\(integrity check (\\d+) ms\\)"));
    for (const QString &line : m_server->lastLines()) {
        const QRegularExpressionMatch match = opened.match(line);
        if (match.hasMatch()) {
            figures.loaded = match.captured(1).toLongLong();
            figures.storageMs = match.captured(2).toLongLong();
            figures.integrityMs = match.captured(3).toLongLong();
        }
    }
    return figures;
}

void RestartRun::onReady(quint16 port)
{
    const Spawn figures = readyFigures();
    m_readyTimer->stop();
    if (m_phase == Phase::Fill) {
        m_empty = figures;
        std::printf("empty database: %.1f ms spawn to ready, RSS %s MiB\n", figures.readyMs,
            qPrintable(mib(figures.rssKib)));
        std::fflush(stdout);
        startFill(port);
        return;
    }
    // A restart that did not read back every record would time something else.
    if (figures.loaded >= 0 && figures.loaded != m_options.records) {
        fail(QStringLiteral("the restarted server read %1 records from the database, not %2")
                 .arg(figures.loaded)
                 .arg(m_options.records),
            kExitRun);
        return;
    }
    m_restarts.push_back(figures);
    std::printf("restart %d/%d: %.1f ms spawn to ready (storage open %s ms, of which integrity "
                "check %s ms), RSS %s MiB\n",
        int(m_restarts.size()), m_options.runs, figures.readyMs,
        qPrintable(orNa(figures.storageMs)), qPrintable(orNa(figures.integrityMs)),
        qPrintable(mib(figures.rssKib)));
    std::fflush(stdout);
    if (!stopServer())
        return;
    if (int(m_restarts.size()) < m_options.runs)
        QTimer::singleShot(0, this, &RestartRun::spawn);
    else
        finish();
}

void RestartRun::startFill(quint16 port)
{
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    const quint64 records = quint64(m_options.records);
    const quint64 connections = quint64(m_options.connections);
    m_fillStartNs = nowNs();
    m_lastProgressNs = m_fillStartNs;
    for (quint64 i = 0; i < connections; ++i) {
        const quint64 share = records / connections + (i < records % connections ? 1 : 0);
        auto *client = new FillClient(int(i), m_options.token, m_options.mapName, m_options.batch,
            m_options.window, share, this);
        connect(client, &FillClient::done, this, &RestartRun::onFillClientDone);
        connect(client, &FillClient::failed, this,
            [this](const QString &reason) { fail(reason, kExitRun); });
        m_fill.push_back(client);
    }
    m_fillTimer->start();
    for (FillClient *client : m_fill)
        client->open(url);
}

quint64 RestartRun::filled() const
{
    quint64 sum = 0;
    for (const FillClient *client : m_fill)
        sum += client->acked();
    return sum;
}

void RestartRun::checkFillProgress()
{
    const quint64 now = filled();
    std::fprintf(stderr, "wingman-bench: fill: %llu of %d records acknowledged\n", qulonglong(now),
        m_options.records);
    if (now != m_lastFilled) {
        m_lastFilled = now;
        m_lastProgressNs = nowNs();
    } else if (nowNs() - m_lastProgressNs > kFillStallNs) {
        fail(QStringLiteral("fill: no OP_ACK for %1 s (%2 of %3 records acknowledged)")
                 .arg(kFillStallNs / kNsPerMs / 1000)
                 .arg(now)
                 .arg(m_options.records),
            kExitRun);
    }
}

void RestartRun::onFillClientDone()
{
    if (m_phase != Phase::Fill || ++m_fillDone < int(m_fill.size()))
        return;
    m_fillTimer->stop();
    m_fillSeconds = double(nowNs() - m_fillStartNs) / 1e9;
    const qint64 stopStart = nowNs();
    if (!stopServer())
        return;
    m_stopMs = double(nowNs() - stopStart) / double(kNsPerMs);
    for (const QFileInfo &file : QDir(m_dir.path()).entryInfoList(QDir::Files))
        m_dbBytes += file.size();
    std::printf("filled: %d records in %.1f s (%.0f acked ops/s, %d connections, batch %d), "
                "stopped in %.0f ms, %s MiB on disk\n",
        m_options.records, m_fillSeconds, m_options.records / m_fillSeconds, m_options.connections,
        m_options.batch, m_stopMs, qPrintable(mib(m_dbBytes / 1024)));
    std::fflush(stdout);
    m_phase = Phase::Restarts;
    spawn();
}

bool RestartRun::stopServer()
{
    SpawnedServer *server = m_server;
    m_server = nullptr;
    const QString problem = server->stop(kStopTimeoutMs);
    server->deleteLater();
    if (problem.isEmpty())
        return true;
    fail(QStringLiteral("stopping the server: %1").arg(problem), kExitRun);
    return false;
}

void RestartRun::finish()
{
    m_phase = Phase::Done;
    std::vector<double> readyMs;
    std::vector<double> rss;
    QJsonArray readyArray;
    QJsonArray rssArray;
    std::vector<qint64> storageMs;
    std::vector<qint64> integrityMs;
    for (const Spawn &s : m_restarts) {
        storageMs.push_back(s.storageMs);
        integrityMs.push_back(s.integrityMs);
        readyMs.push_back(s.readyMs);
        rss.push_back(double(s.rssKib));
        readyArray.append(s.readyMs);
        rssArray.append(double(s.rssKib));
    }
    const auto [minMs, maxMs] = std::minmax_element(readyMs.begin(), readyMs.end());
    const double medianMs = median(readyMs);
    const double rssMedian = median(rss);
    const bool haveRss = m_empty.rssKib >= 0
        && std::none_of(rss.begin(), rss.end(), [](double kib) { return kib < 0; });
    const double perRecord
        = haveRss ? (rssMedian - double(m_empty.rssKib)) * 1024.0 / double(m_options.records) : 0;
    std::printf("restart with %d records on SQLite, %d runs:\n", m_options.records, m_options.runs);
    std::printf("  spawn to ready      %8.1f / %.1f / %.1f ms (min / median / max; empty "
                "database %.1f ms)\n",
        *minMs, medianMs, *maxMs, m_empty.readyMs);
    const QJsonValue storageMedian = medianOf(storageMs);
    const QJsonValue integrityMedian = medianOf(integrityMs);
    if (!storageMedian.isNull() && !integrityMedian.isNull())
        std::printf("  storage open        %8.0f ms median, of which integrity check %.0f ms (the "
                    "server's log)\n",
            storageMedian.toDouble(), integrityMedian.toDouble());
    std::printf("  RSS after ready     %8s MiB median (empty database %s MiB; %.0f B per record)\n",
        qPrintable(mib(qint64(rssMedian))), qPrintable(mib(m_empty.rssKib)), perRecord);
    std::printf("  load average        %8.2f   (1 min, before the fill; %ld cores)\n",
        m_loadAverage, sysconf(_SC_NPROCESSORS_ONLN));
    const QJsonValue noValue;
    const QJsonObject summary {
        { "ok", true },
        { "exitCode", kExitOk },
        { "mode", QStringLiteral("restart") },
        { "records", m_options.records },
        { "runs", m_options.runs },
        { "connections", m_options.connections },
        { "batch", m_options.batch },
        { "window", m_options.window },
        { "fillSeconds", m_fillSeconds },
        { "fillOpsPerSec", std::round(m_options.records / m_fillSeconds) },
        { "stopAfterFillMs", m_stopMs },
        { "dbBytes", double(m_dbBytes) },
        { "emptyReadyMs", m_empty.readyMs },
        { "emptyRssKib", m_empty.rssKib >= 0 ? QJsonValue(double(m_empty.rssKib)) : noValue },
        { "restartMsMin", *minMs },
        { "restartMsMedian", medianMs },
        { "restartMsMax", *maxMs },
        { "restartMs", readyArray },
        { "storageOpenMsMedian", storageMedian },
        { "integrityCheckMsMedian", integrityMedian },
        { "rssAfterLoadKib", haveRss ? QJsonValue(rssMedian) : noValue },
        { "rssAfterLoadKibRuns", rssArray },
        { "rssPerRecordBytes", haveRss ? QJsonValue(std::round(perRecord)) : noValue },
        { "loadAverage", m_loadAverage },
    };
    std::printf("SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    Q_EMIT done(kExitOk);
}

void RestartRun::fail(const QString &reason, int exitCode)
{
    if (m_phase == Phase::Done)
        return;
    m_phase = Phase::Done;
    m_readyTimer->stop();
    m_fillTimer->stop();
    for (FillClient *client : m_fill)
        client->close();
    QString stopProblem;
    if (m_server) {
        stopProblem = m_server->stop(kStopTimeoutMs);
        m_server = nullptr;
    }
    std::fprintf(stderr, "wingman-bench: error: %s\n", qPrintable(reason));
    if (!stopProblem.isEmpty())
        std::fprintf(stderr, "wingman-bench: also: %s\n", qPrintable(stopProblem));
    const QJsonObject summary { { "ok", false }, { "exitCode", exitCode }, { "mode", "restart" },
        { "error", reason }, { "serverProblem", stopProblem } };
    std::printf("SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    Q_EMIT done(exitCode);
}

} // namespace wingman::bench

#include "BenchRun.h"

#include "Bench.h"
#include "SpawnedServer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace wingman::bench {

namespace {

double percentileMs(std::vector<quint32> &values, double fraction)
{
    if (values.empty())
        return 0;
    const size_t rank = std::min(values.size() - 1, size_t(fraction * double(values.size())));
    std::nth_element(values.begin(), values.begin() + qsizetype(rank), values.end());
    return values[rank] / 1000.0;
}

} // namespace

void BenchRun::report(const QString &warning)
{
    m_phase = Phase::Done;
    if (m_last.atNs == 0)
        m_last = sample();
    stopClients();
    ClientStats total;
    for (size_t i = 0; i < m_stats.size(); ++i) {
        ClientStats &s = m_stats[i];
        total.ackedOps += s.ackedOps;
        total.ackedBatches += s.ackedBatches;
        total.failedResults += s.failedResults;
        total.rejectedOps += s.rejectedOps;
        total.unmatchedAcks += s.unmatchedAcks;
        total.errors += s.errors;
        total.undecodable += s.undecodable;
        total.serverEvents += s.serverEvents;
        total.batchEventRecords += s.batchEventRecords;
        total.queryUpdates += s.queryUpdates;
        total.latenciesUs.insert(
            total.latenciesUs.end(), s.latenciesUs.begin(), s.latenciesUs.end());
        total.lagUs.insert(total.lagUs.end(), s.lagUs.begin(), s.lagUs.end());
        total.crossNodeLagUs.insert(
            total.crossNodeLagUs.end(), s.crossNodeLagUs.begin(), s.crossNodeLagUs.end());
        total.unstampedRecords += s.unstampedRecords;
        if (total.firstError.isEmpty() && !s.firstError.isEmpty())
            total.firstError = (i < size_t(m_options.connections) ? QStringLiteral("writer: ")
                                                                  : QStringLiteral("subscriber: "))
                + s.firstError;
    }
    const double seconds = double(m_options.durationS);
    const double windowSeconds = m_first.atNs > 0 ? double(m_last.atNs - m_first.atNs) / 1e9 : 0;
    const quint64 events = total.serverEvents + total.batchEventRecords + total.queryUpdates;
    const double opsPerSec = double(total.ackedOps) / seconds;
    const double eventsPerSec = double(events) / seconds;
    const double p50 = percentileMs(total.latenciesUs, 0.50);
    const double p99 = percentileMs(total.latenciesUs, 0.99);
    const bool cluster = m_urls.size() > 1;
    const qint64 lagRecords = qint64(total.lagUs.size());
    const qint64 crossNodeRecords = qint64(total.crossNodeLagUs.size());
    const double lagP50 = percentileMs(total.lagUs, 0.50);
    const double lagP99 = percentileMs(total.lagUs, 0.99);
    const double crossNodeP50 = percentileMs(total.crossNodeLagUs, 0.50);
    const double crossNodeP99 = percentileMs(total.crossNodeLagUs, 0.99);
    QStringList urlTexts;
    QJsonArray urlArray;
    for (const QUrl &url : std::as_const(m_urls)) {
        urlTexts.append(url.toString());
        urlArray.append(url.toString());
    }
    const long ticksPerSec = sysconf(_SC_CLK_TCK);
    const bool haveServerCpu
        = m_first.serverTicks >= 0 && m_last.serverTicks >= 0 && windowSeconds > 0;
    const double serverCpu = haveServerCpu ? 100.0
            * double(m_last.serverTicks - m_first.serverTicks) / double(ticksPerSec) / windowSeconds
                                           : -1;
    double clientCpu = windowSeconds > 0
        ? 100.0 * double(m_last.ownCpuUs - m_first.ownCpuUs) / 1e6 / windowSeconds
        : 0;
    if (m_echoThreadId && haveServerCpu)
        clientCpu -= serverCpu; // the echo thread runs in this process
    // Server CPU time in the window over the ops acknowledged in it; the ticks are 10 ms, so a
    // window of a few seconds at one busy core reads within a percent.
    const bool haveCpuPerOp = haveServerCpu && total.ackedOps > 0;
    const double serverCpuUsPerOp = haveCpuPerOp ? double(m_last.serverTicks - m_first.serverTicks)
            * 1e6 / double(ticksPerSec) / double(total.ackedOps)
                                                 : -1;
    const QString mode = m_options.baseline ? QStringLiteral("baseline")
        : m_spawned                         ? QStringLiteral("spawned")
                                            : QStringLiteral("external");
    const bool noAcks = total.ackedOps == 0;
    const int exitCode = noAcks ? kExitRun : kExitOk;

    const auto mib = [](qint64 kib) {
        return kib < 0 ? QStringLiteral("n/a")
                       : QString::number(double(kib) / 1024.0, 'f', 1) + " MiB";
    };
    std::printf("wingman-bench: %s target %s%s, map '%s'\n", qPrintable(mode),
        qPrintable(urlTexts.join(QStringLiteral(", "))),
        m_serverPid ? qPrintable(QStringLiteral(" (pid %1)").arg(m_serverPid)) : "",
        qPrintable(m_options.mapName));
    std::printf("load: %d writers x window %d x batch %d, %d subscribers, %d client thread(s), "
                "1 s warm-up + %d s measured\n",
        m_options.connections, m_options.window, m_options.batch, m_options.subscribers,
        m_options.threads, m_options.durationS);
    std::printf("  acked ops/s         %12.0f   (%llu ops in %llu batches)\n", opsPerSec,
        qulonglong(total.ackedOps), qulonglong(total.ackedBatches));
    std::printf("  ack latency p50     %12.2f ms\n", p50);
    std::printf("  ack latency p99     %12.2f ms\n", p99);
    std::printf("  events/s            %12.0f   (%.0f per subscriber; records in the window: "
                "SERVER_EVENT %llu, SERVER_BATCH_EVENT %llu, QUERY_UPDATE %llu)\n",
        eventsPerSec, m_options.subscribers ? eventsPerSec / m_options.subscribers : 0.0,
        qulonglong(total.serverEvents), qulonglong(total.batchEventRecords),
        qulonglong(total.queryUpdates));
    // The writers stamp millis (whole ms) when they send a batch, so lag reads up to 1 ms high.
    std::printf("  event lag p50/p99   %8.2f / %.2f ms   (%lld records, %llu unstamped; send to "
                "receipt, wall clock)\n",
        lagP50, lagP99, lagRecords, qulonglong(total.unstampedRecords));
    if (cluster)
        std::printf("  cross-node lag      %8.2f / %.2f ms   (%lld records written through "
                    "another of the %lld nodes)\n",
            crossNodeP50, crossNodeP99, crossNodeRecords, qlonglong(m_urls.size()));
    if (haveServerCpu)
        std::printf("  server CPU          %12.1f %% of one core%s\n", serverCpu,
            m_echoThreadId ? " (echo thread)" : "");
    else
        std::printf("  server CPU                   n/a   (give --server-pid or --spawn)\n");
    if (haveCpuPerOp)
        std::printf("  server CPU per op   %12.3f µs   (CPU time in the window / acked ops)\n",
            serverCpuUsPerOp);
    std::printf("  server RSS          %s -> %s%s\n", qPrintable(mib(m_rssStartKib)),
        qPrintable(mib(m_last.rssKib)), m_echoThreadId ? " (bench process)" : "");
    std::printf("  client CPU          %12.1f %% of one core\n", clientCpu);
    std::printf("  load average        %12.2f   (1 min, before the run; %ld cores)\n",
        m_loadAverage, sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("  rejected ops %llu, failed results %llu, ERRORs %llu, unmatched acks %llu, "
                "undecodable %llu\n",
        qulonglong(total.rejectedOps), qulonglong(total.failedResults), qulonglong(total.errors),
        qulonglong(total.unmatchedAcks), qulonglong(total.undecodable));
    if (!total.firstError.isEmpty())
        std::printf("  first server error: %s\n", qPrintable(total.firstError));
    if (!warning.isEmpty())
        std::fprintf(stderr, "wingman-bench: warning: %s\n", qPrintable(warning));
    if (noAcks)
        std::fprintf(stderr, "wingman-bench: error: no OP_ACK in the measured window\n");

    const QString stopProblem = m_spawned ? m_spawned->stop() : QString();
    if (!stopProblem.isEmpty())
        std::fprintf(stderr, "wingman-bench: warning: %s\n", qPrintable(stopProblem));

    const auto orNull
        = [](double value, bool present) { return present ? QJsonValue(value) : QJsonValue(); };
    QJsonObject summary {
        { "ok", !noAcks },
        { "exitCode", exitCode },
        { "mode", mode },
        { "url", m_urls.isEmpty() ? QString() : m_urls.first().toString() },
        { "urls", urlArray },
        { "connections", m_options.connections },
        { "subscribers", m_options.subscribers },
        { "batch", m_options.batch },
        { "window", m_options.window },
        { "threads", m_options.threads },
        { "durationS", m_options.durationS },
        { "warmupS", 1 },
        { "ackedOps", qint64(total.ackedOps) },
        { "ackedBatches", qint64(total.ackedBatches) },
        { "ackedOpsPerSec", std::round(opsPerSec) },
        { "latencyP50Ms", p50 },
        { "latencyP99Ms", p99 },
        { "events", qint64(events) },
        { "eventsPerSec", std::round(eventsPerSec) },
        { "serverEvents", qint64(total.serverEvents) },
        { "batchEventRecords", qint64(total.batchEventRecords) },
        { "queryUpdates", qint64(total.queryUpdates) },
        { "lagRecords", lagRecords },
        { "lagP50Ms", orNull(lagP50, lagRecords > 0) },
        { "lagP99Ms", orNull(lagP99, lagRecords > 0) },
        { "unstampedRecords", qint64(total.unstampedRecords) },
        { "crossNodeLagRecords", cluster ? QJsonValue(crossNodeRecords) : QJsonValue() },
        { "crossNodeLagP50Ms", orNull(crossNodeP50, cluster && crossNodeRecords > 0) },
        { "crossNodeLagP99Ms", orNull(crossNodeP99, cluster && crossNodeRecords > 0) },
        { "serverCpuPct", orNull(std::round(serverCpu * 10) / 10, haveServerCpu) },
        { "serverCpuUsPerOp", orNull(std::round(serverCpuUsPerOp * 1000) / 1000, haveCpuPerOp) },
        { "serverRssStartKib", orNull(double(m_rssStartKib), m_rssStartKib >= 0) },
        { "serverRssEndKib", orNull(double(m_last.rssKib), m_last.rssKib >= 0) },
        { "clientCpuPct", std::round(clientCpu * 10) / 10 },
        { "loadAverage", m_loadAverage },
        { "rejectedOps", qint64(total.rejectedOps) },
        { "failedResults", qint64(total.failedResults) },
        { "errors", qint64(total.errors) },
        { "unmatchedAcks", qint64(total.unmatchedAcks) },
        { "undecodable", qint64(total.undecodable) },
        { "firstError", total.firstError },
        { "warning", warning },
    };
    std::printf("SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    Q_EMIT done(exitCode);
}

} // namespace wingman::bench

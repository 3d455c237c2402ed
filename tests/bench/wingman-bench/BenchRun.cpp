#include "BenchRun.h"

#include "Bench.h"
#include "EchoServer.h"
#include "ProcessSampling.h"
#include "SelfCheck.h"
#include "SpawnedServer.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

#include <cstdio>
#include <unistd.h>

namespace wingman::bench {

BenchRun::BenchRun(const Options &options)
    : m_options(options)
{ }

BenchRun::~BenchRun()
{
    for (auto &thread : m_threads) {
        thread->quit();
        thread->wait();
    }
    if (m_echoThread) {
        m_echoThread->quit();
        m_echoThread->wait();
    }
}

void BenchRun::start()
{
    if (const QString problem = selfCheck(m_options); !problem.isEmpty()) {
        abort(QStringLiteral("self-check failed: %1").arg(problem), kExitSetup);
        return;
    }
    if (m_options.baseline)
        startEcho();
    else if (!m_options.spawnPath.isEmpty())
        startSpawned();
    else
        connectClients(m_options.urls);
}

void BenchRun::startEcho()
{
    m_echoThread = std::make_unique<QThread>();
    auto *echo = new EchoServer;
    echo->moveToThread(m_echoThread.get());
    connect(m_echoThread.get(), &QThread::finished, echo, &QObject::deleteLater);
    m_echoThread->start();
    quint16 port = 0;
    QMetaObject::invokeMethod(
        echo, [echo] { return echo->listen(); }, Qt::BlockingQueuedConnection, &port);
    if (port == 0) {
        abort(QStringLiteral("the baseline echo server cannot listen"), kExitSetup);
        return;
    }
    m_echoThreadId = echo->threadId();
    m_serverPid = getpid();
    connectClients({ QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)) });
}

void BenchRun::startSpawned()
{
    m_spawned = new SpawnedServer(this);
    connect(m_spawned, &SpawnedServer::failed, this, [this](const QString &reason) {
        abort(QStringLiteral("spawned server: %1").arg(reason),
            m_phase == Phase::Setup ? kExitSetup : kExitRun);
    });
    connect(m_spawned, &SpawnedServer::ready, this, [this](quint16 port) {
        m_serverPid = m_spawned->pid();
        connectClients({ QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)) });
    });
    armSetupTimer(QStringLiteral("the spawned server did not log its ready line within %1 s"));
    m_spawned->start(
        m_options.spawnPath, m_options.secret, m_options.spawnStorage, m_options.spawnArguments);
}

void BenchRun::armSetupTimer(const QString &message)
{
    delete m_setupTimer;
    m_setupTimer = new QTimer(this);
    m_setupTimer->setSingleShot(true);
    connect(m_setupTimer, &QTimer::timeout, this,
        [this, message] { abort(message.arg(kSetupTimeoutMs / 1000), kExitSetup); });
    m_setupTimer->start(kSetupTimeoutMs);
}

void BenchRun::connectClients(const QList<QUrl> &urls)
{
    m_urls = urls;
    if (m_serverPid == 0)
        m_serverPid = m_options.serverPid;
    m_rssStartKib = m_serverPid ? rssKib(m_serverPid) : -1;
    m_loadAverage = loadAverage();
    armSetupTimer(QStringLiteral("connections not authenticated within %1 s"));

    for (int i = 0; i < m_options.threads; ++i) {
        m_threads.push_back(std::make_unique<QThread>());
        m_threads.back()->start();
    }
    const int total = m_options.connections + m_options.subscribers;
    m_stats.resize(size_t(total));
    for (int i = 0; i < total; ++i) {
        ClientConfig config;
        const bool writer = i < m_options.connections;
        config.role = writer ? ClientConfig::Role::Writer : ClientConfig::Role::Subscriber;
        config.index = writer ? i : i - m_options.connections;
        config.token = m_options.token;
        config.mapName = m_options.mapName;
        config.batch = m_options.batch;
        config.window = m_options.window;
        config.nodeCount = int(urls.size());
        config.node = config.index % config.nodeCount;
        config.fifoAcks = m_options.baseline;
        config.query = m_options.query;
        auto *client = new BenchClient(config, &m_stats[size_t(i)], &m_acks);
        QThread *thread = m_threads[size_t(i % m_options.threads)].get();
        client->moveToThread(thread);
        connect(thread, &QThread::finished, client, &QObject::deleteLater);
        connect(client, &BenchClient::authenticated, this, &BenchRun::onAuthenticated);
        connect(client, &BenchClient::failed, this, [this](const QString &reason) {
            abort(reason, m_phase == Phase::Setup ? kExitSetup : kExitRun);
        });
        connect(client, &BenchClient::finished, this, &BenchRun::onClientFinished);
        // A writer's error explains missing acks better than a subscriber's.
        connect(
            client, &BenchClient::serverErrorReceived, this, [this, writer](const QString &error) {
                if (m_firstServerError.isEmpty() || (writer && !m_firstServerErrorIsWriter)) {
                    m_firstServerError = error;
                    m_firstServerErrorIsWriter = writer;
                }
            });
        m_clients.push_back(client);
        const QUrl url = urls[config.node];
        QMetaObject::invokeMethod(client, [client, url] { client->open(url); });
    }
}

void BenchRun::onAuthenticated()
{
    if (++m_authenticated < int(m_clients.size()) || m_phase != Phase::Setup)
        return;
    delete m_setupTimer;
    m_setupTimer = nullptr;
    m_phase = Phase::Load;
    const qint64 now = nowNs();
    m_clock = { now, now + kWarmupNs, now + kWarmupNs + m_options.durationS * 1000 * kNsPerMs };
    for (BenchClient *client : m_clients) {
        const RunClock clock = m_clock;
        QMetaObject::invokeMethod(client, [client, clock] { client->startLoad(clock); });
    }
    QTimer::singleShot(
        msUntil(m_clock.measureStart), Qt::PreciseTimer, this, [this] { m_first = sample(); });
    QTimer::singleShot(
        msUntil(m_clock.measureEnd), Qt::PreciseTimer, this, [this] { m_last = sample(); });
    QTimer::singleShot(msUntil(std::min(m_clock.loadStart + kNoAckNs, m_clock.measureEnd)), this,
        &BenchRun::checkAcksArrive);
    QTimer::singleShot(msUntil(m_clock.measureEnd) + kHardStopMs, this, [this] {
        if (m_phase == Phase::Load)
            report(QStringLiteral("%1 of %2 connections did not finish within %3 s of the end")
                       .arg(int(m_clients.size()) - m_finished)
                       .arg(m_clients.size())
                       .arg(kHardStopMs / 1000));
    });
}

void BenchRun::checkAcksArrive()
{
    if (m_phase != Phase::Load || m_acks.load() > 0)
        return;
    abort(QStringLiteral("no OP_ACK within %1 s of load from %2 writer connections; %3")
              .arg(double(nowNs() - m_clock.loadStart) / 1e9, 0, 'f', 1)
              .arg(m_options.connections)
              .arg(m_firstServerError.isEmpty()
                      ? QStringLiteral("the server sent no ERROR either")
                      : QStringLiteral("first server error: ") + m_firstServerError),
        kExitRun);
}

void BenchRun::onClientFinished()
{
    if (++m_finished == int(m_clients.size()) && m_phase == Phase::Load)
        report({});
}

Sample BenchRun::sample() const
{
    Sample s;
    s.atNs = nowNs();
    if (m_echoThreadId)
        s.serverTicks = cpuTicks(QStringLiteral("/proc/self/task/%1/stat").arg(m_echoThreadId));
    else if (m_serverPid)
        s.serverTicks = cpuTicks(QStringLiteral("/proc/%1/stat").arg(m_serverPid));
    s.ownCpuUs = ownCpuUs();
    s.rssKib = m_serverPid ? rssKib(m_serverPid) : -1;
    return s;
}

void BenchRun::stopClients()
{
    for (BenchClient *client : m_clients)
        QMetaObject::invokeMethod(
            client, [client] { client->stop(); }, Qt::BlockingQueuedConnection);
}

void BenchRun::abort(const QString &reason, int exitCode)
{
    if (m_phase == Phase::Done)
        return;
    m_phase = Phase::Done;
    stopClients();
    // A lost connection is often the server's crash: say so with the error.
    const QString stopProblem = m_spawned ? m_spawned->stop() : QString();
    std::fprintf(stderr, "wingman-bench: error: %s\n", qPrintable(reason));
    if (!stopProblem.isEmpty())
        std::fprintf(stderr, "wingman-bench: also: %s\n", qPrintable(stopProblem));
    QJsonObject summary { { "ok", false }, { "error", reason }, { "exitCode", exitCode },
        { "serverProblem", stopProblem } };
    std::printf("SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    Q_EMIT done(exitCode);
}

} // namespace wingman::bench

#pragma once

#include "BenchClient.h"
#include "Options.h"

#include <QObject>
#include <QThread>
#include <QUrl>

#include <atomic>
#include <memory>
#include <sys/types.h>
#include <vector>

class QTimer;

namespace wingman::bench {

class SpawnedServer;

// One reading of the server's CPU and RSS and of the bench's own CPU.
struct Sample {
    qint64 atNs = 0;
    qint64 serverTicks = -1;
    qint64 ownCpuUs = 0;
    qint64 rssKib = -1;
};

// Sets up the target, connects every client, runs warm-up and window, samples the server and
// reports. Everything is bounded by timers, so a run always ends by itself.
class BenchRun : public QObject
{
    Q_OBJECT
public:
    explicit BenchRun(const Options &options);
    ~BenchRun() override;

    void start();

Q_SIGNALS:
    void done(int exitCode);

private:
    enum class Phase { Setup, Load, Done };

    void startEcho();
    void startSpawned();
    void armSetupTimer(const QString &message);
    void connectClients(const QList<QUrl> &urls);
    void onAuthenticated();
    void checkAcksArrive();
    void onClientFinished();
    Sample sample() const;
    // Returns once every client is closed, so its stats are no longer written.
    void stopClients();
    void abort(const QString &reason, int exitCode);
    // The figures on stdout, then the SUMMARY line (Report.cpp).
    void report(const QString &warning);

    Options m_options;
    Phase m_phase = Phase::Setup;
    QList<QUrl> m_urls;
    qint64 m_serverPid = 0;
    pid_t m_echoThreadId = 0;
    std::unique_ptr<QThread> m_echoThread;
    SpawnedServer *m_spawned = nullptr;
    QTimer *m_setupTimer = nullptr;
    QString m_firstServerError;
    bool m_firstServerErrorIsWriter = false;
    std::vector<std::unique_ptr<QThread>> m_threads;
    std::vector<BenchClient *> m_clients;
    std::vector<ClientStats> m_stats;
    std::atomic<quint64> m_acks { 0 };
    int m_authenticated = 0;
    int m_finished = 0;
    RunClock m_clock;
    Sample m_first;
    Sample m_last;
    qint64 m_rssStartKib = -1;
    double m_loadAverage = -1;
};

} // namespace wingman::bench

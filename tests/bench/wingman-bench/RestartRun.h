#pragma once

#include "Options.h"

#include <QObject>
#include <QString>
#include <QTemporaryDir>

#include <vector>

class QTimer;

namespace wingman::bench {

class FillClient;
class SpawnedServer;

// --mode restart: fills a fresh SQLite database in a temporary directory with --records records
// through a spawned server (C connections, batches of B, every op acknowledged, so committed),
// stops it with SIGTERM, then spawns the server on that database --runs times, measuring spawn
// to ready line (which follows loading every record) and the server's RSS right after ready.
// The first spawn, on the empty database, gives the same two figures without records.
class RestartRun : public QObject
{
    Q_OBJECT
public:
    explicit RestartRun(const Options &options, QObject *parent = nullptr);

    void start();

Q_SIGNALS:
    void done(int exitCode);

private:
    enum class Phase { Fill, Restarts, Done };
    struct Spawn {
        double readyMs = 0;
        qint64 rssKib = -1;
        // From the storage's "opened …" log line, -1 without it: opening and reading the database
        // (integrity check included), and the records and tombstones it read.
        qint64 storageMs = -1;
        qint64 integrityMs = -1;
        qint64 loaded = -1;
    };

    void spawn();
    Spawn readyFigures() const;
    void onReady(quint16 port);
    void startFill(quint16 port);
    void onFillClientDone();
    void checkFillProgress();
    quint64 filled() const;
    // SIGTERM and wait; false (after failing the run) when the server did not exit cleanly.
    bool stopServer();
    void finish();
    void fail(const QString &reason, int exitCode);

    Options m_options;
    QTemporaryDir m_dir;
    QString m_dbPath;
    Phase m_phase = Phase::Fill;
    SpawnedServer *m_server = nullptr;
    QTimer *m_readyTimer;
    QTimer *m_fillTimer;
    qint64 m_spawnNs = 0;
    std::vector<FillClient *> m_fill;
    int m_fillDone = 0;
    qint64 m_fillStartNs = 0;
    double m_fillSeconds = 0;
    quint64 m_lastFilled = 0;
    qint64 m_lastProgressNs = 0;
    double m_stopMs = 0;
    qint64 m_dbBytes = 0;
    Spawn m_empty;
    std::vector<Spawn> m_restarts;
    double m_loadAverage = -1;
};

} // namespace wingman::bench

#pragma once

#include <QByteArray>
#include <QCborMap>
#include <QList>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

class QCoreApplication;

namespace wingman::bench {

struct Options {
    // The servers to drive: writer i and subscriber i connect to urls[i % urls.size()]. `url` is
    // urls.first() (or the spawned or baseline server's, set when it is up).
    QList<QUrl> urls;
    QUrl url;
    QByteArray token;
    QByteArray secret;
    QString mapName;
    QString spawnPath;
    QString spawnStorage = QStringLiteral("memory:");
    QStringList spawnArguments;
    qint64 serverPid = 0;
    int connections = 10;
    int durationS = 10;
    int batch = 100;
    int subscribers = 2;
    int window = 4;
    int threads = 1;
    int records = 1'000'000; // restart: records the database is filled with
    int runs = 3; // restart: restarts measured
    bool baseline = false;
    QCborMap query; // the subscribers' live query; empty: every record
    QString mode = QStringLiteral("writes"); // writes, topics, locks or restart
};

// The options of the command line; nullopt (with the reason on stderr) when they are unusable.
std::optional<Options> parseOptions(const QCoreApplication &app);

} // namespace wingman::bench

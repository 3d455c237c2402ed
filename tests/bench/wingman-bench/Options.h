#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

class QCoreApplication;

namespace wingman::bench {

struct Options {
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
    bool baseline = false;
};

// The options of the command line; nullopt (with the reason on stderr) when they are unusable.
std::optional<Options> parseOptions(const QCoreApplication &app);

} // namespace wingman::bench

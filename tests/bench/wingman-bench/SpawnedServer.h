#pragma once

#include <QByteArray>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace wingman::bench {

// A wingman-server child on OS-assigned loopback ports, ready once it logs its ports.
class SpawnedServer : public QObject
{
    Q_OBJECT
public:
    explicit SpawnedServer(QObject *parent = nullptr);

    void start(const QString &path, const QByteArray &secret, const QString &storage,
        const QStringList &extraArguments);

    qint64 pid() const { return m_process->processId(); }
    // The server's last 20 log lines; on ready(), those up to the ready line.
    QStringList lastLines() const { return m_lastLines; }

    // SIGTERM, then up to timeoutMs for the graceful shutdown; returns a problem not yet reported
    // through failed() (a crash, possibly before the SIGTERM, a non-zero exit or a hang), or empty.
    QString stop(int timeoutMs = 5'000);

Q_SIGNALS:
    void ready(quint16 port);
    void failed(const QString &reason);

private:
    QString describeExit() const;
    void readLog();

    QProcess *m_process;
    QByteArray m_pending;
    QStringList m_lastLines;
    bool m_ready = false;
    bool m_stopping = false;
    bool m_exitReported = false;
};

} // namespace wingman::bench

#include "SpawnedServer.h"

#include <QRegularExpression>

namespace wingman::bench {

SpawnedServer::SpawnedServer(QObject *parent)
    : QObject(parent)
    , m_process(new QProcess(this))
{
    connect(m_process, &QProcess::readyReadStandardError, this, &SpawnedServer::readLog);
    connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart)
            Q_EMIT failed(QStringLiteral("cannot start %1: %2")
                              .arg(m_process->program(), m_process->errorString()));
    });
    connect(m_process, &QProcess::finished, this, [this] {
        if (m_stopping)
            return;
        m_exitReported = true;
        Q_EMIT failed(describeExit());
    });
}

void SpawnedServer::start(const QString &path, const QByteArray &secret, const QString &storage,
    const QStringList &extraArguments)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    // The flags alone configure it: WINGMAN_* variables would override them, and the server
    // refuses ones it does not know (such as scripts' WINGMAN_BUILD_DIR).
    for (const QString &name : environment.keys()) {
        if (name.startsWith(QLatin1String("WINGMAN_")))
            environment.remove(name);
    }
    // Logs to stderr even when it is a pipe, where the ready line is read from.
    environment.insert(QStringLiteral("QT_FORCE_STDERR_LOGGING"), QStringLiteral("1"));
    m_process->setProcessEnvironment(environment);
    m_process->setStandardOutputFile(QProcess::nullDevice());
    m_process->start(path,
        QStringList { QStringLiteral("--port"), QStringLiteral("0"),
            QStringLiteral("--cluster-port"), QStringLiteral("0"), QStringLiteral("--host"),
            QStringLiteral("127.0.0.1"), QStringLiteral("--jwt-secret"), QString::fromUtf8(secret),
            QStringLiteral("--storage"), storage }
            + extraArguments);
}

QString SpawnedServer::stop(int timeoutMs)
{
    m_stopping = true;
    if (m_exitReported)
        return {};
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(timeoutMs)) {
            m_process->kill();
            m_process->waitForFinished(2000);
            return QStringLiteral("the server did not stop within %1 s of SIGTERM; killed it")
                .arg(timeoutMs / 1000);
        }
    }
    if (m_process->exitStatus() == QProcess::NormalExit && m_process->exitCode() == 0)
        return {};
    return describeExit();
}

QString SpawnedServer::describeExit() const
{
    const int code = m_process->exitCode();
    const QString how = m_process->exitStatus() == QProcess::CrashExit
        ? QStringLiteral("crashed (signal %1)").arg(code)
        : QStringLiteral("exited with code %1").arg(code);
    return QStringLiteral("the server %1; its last log lines:\n  %2")
        .arg(how, m_lastLines.join(QStringLiteral("\n  ")));
}

void SpawnedServer::readLog()
{
    static const QRegularExpression readyLine(
        QStringLiteral("ready: client port (\\d+), cluster port (\\d+)"));
    m_pending += m_process->readAllStandardError();
    qsizetype newline;
    while ((newline = m_pending.indexOf('\n')) >= 0) {
        const QString line = QString::fromUtf8(m_pending.left(newline));
        m_pending.remove(0, newline + 1);
        m_lastLines.append(line);
        if (m_lastLines.size() > 20)
            m_lastLines.removeFirst();
        if (m_ready)
            continue;
        const auto match = readyLine.match(line);
        if (match.hasMatch()) {
            m_ready = true;
            Q_EMIT ready(quint16(match.captured(1).toUInt()));
        }
    }
}

} // namespace wingman::bench

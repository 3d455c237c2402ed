#include "ServerProcess.h"

#include "TestServer.h"

#include <QDebug>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTest>

namespace wingman::test {

ServerProcess::ServerProcess(QObject *parent)
    : QObject(parent)
{
    m_process.setProcessChannelMode(QProcess::MergedChannels);
}

ServerProcess::~ServerProcess()
{
    if (m_process.state() != QProcess::NotRunning)
        kill();
    output();
}

void ServerProcess::start(const QStringList &extraArguments, const QString &workingDirectory)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    const QStringList names = environment.keys();
    for (const QString &name : names) {
        if (name.startsWith(QLatin1String("WINGMAN_")))
            environment.remove(name);
    }
    environment.remove(QStringLiteral("NOTIFY_SOCKET"));
    environment.insert(m_extraEnvironment);
    // Logs go to stderr even when it is a pipe, where the ready line is read from.
    environment.insert(QStringLiteral("QT_FORCE_STDERR_LOGGING"), QStringLiteral("1"));
    m_process.setProcessEnvironment(environment);
    if (!workingDirectory.isEmpty())
        m_process.setWorkingDirectory(workingDirectory);
    m_output.clear();
    m_port = 0;
    m_clusterPort = 0;
    m_nodeId.clear();
    m_process.start(QStringLiteral(WINGMAN_SERVER_BINARY),
        QStringList { "--port", "0", "--cluster-port", "0", "--host", "127.0.0.1", "--jwt-secret",
            kTestSecret }
            + extraArguments);
}

void ServerProcess::setEnvironmentVariable(const QString &name, const QString &value)
{
    m_extraEnvironment.insert(name, value);
}

QString ServerProcess::output()
{
    m_output += QString::fromUtf8(m_process.readAll());
    failOnSanitizerReport();
    return m_output;
}

void ServerProcess::failOnSanitizerReport()
{
    static const QRegularExpression report(
        QStringLiteral("runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer"));
    if (m_sanitizerReported)
        return;
    const QRegularExpressionMatch match = report.match(m_output);
    if (!match.hasMatch())
        return;
    m_sanitizerReported = true;
    // The report ends the process (halt_on_error); wait for all of it.
    if (m_process.state() != QProcess::NotRunning)
        m_process.waitForFinished(10000);
    m_output += QString::fromUtf8(m_process.readAll());
    const qsizetype lineStart = m_output.lastIndexOf(u'\n', match.capturedStart()) + 1;
    qWarning().noquote() << "wingman-server sanitizer report:\n" << m_output.mid(lineStart);
    QTest::qFail("wingman-server made a sanitizer report", __FILE__, __LINE__);
}

bool ServerProcess::waitForReady(int timeoutMs)
{
    static const QRegularExpression readyLine(
        QStringLiteral("node (\\S+) ready: client port (\\d+), cluster port (\\d+)"));
    QRegularExpressionMatch match;
    const bool ready = QTest::qWaitFor(
        [&] {
            match = readyLine.match(output());
            return match.hasMatch() || m_process.state() == QProcess::NotRunning;
        },
        timeoutMs);
    if (!ready || !match.hasMatch())
        return false;
    m_nodeId = match.captured(1);
    m_port = match.captured(2).toUShort();
    m_clusterPort = match.captured(3).toUShort();
    return true;
}

bool ServerProcess::waitForExit(int timeoutMs)
{
    const bool exited = QTest::qWaitFor(
        [&] {
            output();
            return m_process.state() == QProcess::NotRunning;
        },
        timeoutMs);
    output();
    return exited;
}

void ServerProcess::kill()
{
    m_process.kill();
    m_process.waitForFinished(10000);
    output();
}

bool ServerProcess::terminate(int timeoutMs)
{
    m_process.terminate();
    return waitForExit(timeoutMs) && m_process.exitStatus() == QProcess::NormalExit
        && m_process.exitCode() == 0;
}

} // namespace wingman::test

#pragma once

#include <QObject>
#include <QProcess>
#include <QStringList>

namespace wingman::test {

// A wingman-server child process (WINGMAN_SERVER_BINARY) on loopback with OS-assigned ports and
// the test secret, for tests that need a real process: exit codes, kill -9. Its output is
// collected; ready once it logs its ready line. Killed when destroyed. A sanitizer report in its
// output (a sanitized build's UndefinedBehaviorSanitizer writes there) fails the test.
class ServerProcess : public QObject
{
    Q_OBJECT
public:
    explicit ServerProcess(QObject *parent = nullptr);
    ~ServerProcess() override;

    // Flags come after the defaults, so they can override them. WINGMAN_* variables of the test's
    // environment are not passed on: the flags alone configure the server.
    void start(const QStringList &extraArguments, const QString &workingDirectory = {});
    // A variable for the next start(); NOTIFY_SOCKET reaches the server only this way, so a
    // test run under systemd never speaks for the test's own unit.
    void setEnvironmentVariable(const QString &name, const QString &value);
    // Waits for the ready line; false if the process exits or the time runs out first.
    bool waitForReady(int timeoutMs = 20000);
    // Waits for the process to end on its own.
    bool waitForExit(int timeoutMs = 20000);
    // SIGKILL, then waits for the process to be gone.
    void kill();
    // SIGTERM; true when it then exits 0 in time.
    bool terminate(int timeoutMs = 20000);

    quint16 port() const { return m_port; }
    // The cluster port from the ready line (0 before it).
    quint16 clusterPort() const { return m_clusterPort; }
    QString nodeId() const { return m_nodeId; }
    // Everything it printed so far (stdout and stderr).
    QString output();
    QProcess &process() { return m_process; }

private:
    void failOnSanitizerReport();

    QProcess m_process;
    QProcessEnvironment m_extraEnvironment;
    QString m_output;
    quint16 m_port = 0;
    quint16 m_clusterPort = 0;
    QString m_nodeId;
    bool m_sanitizerReported = false;
};

} // namespace wingman::test

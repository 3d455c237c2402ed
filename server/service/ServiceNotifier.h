#pragma once

#include <QLoggingCategory>
#include <QObject>

namespace wingman {

namespace status {
class NodeStatus;
}

Q_DECLARE_LOGGING_CATEGORY(lcService)

// Tells the service manager (systemd, Type=notify) how the node is doing: READY=1 only once the
// node is ready (both listeners and storage up), STOPPING=1 when shutdown begins, STATUS= lines
// with the ports or the startup failure. Does nothing when the process was not started with a
// NOTIFY_SOCKET.
class ServiceNotifier : public QObject
{
    Q_OBJECT
public:
    explicit ServiceNotifier(status::NodeStatus *server);

    static bool isSupervised();

private:
    void notify(const QByteArray &state);

    status::NodeStatus *m_server;
};

} // namespace wingman

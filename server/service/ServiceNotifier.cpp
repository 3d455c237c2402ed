#include "service/ServiceNotifier.h"

#include "status/NodeStatus.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace wingman {

Q_LOGGING_CATEGORY(lcService, "wingman.service")

ServiceNotifier::ServiceNotifier(status::NodeStatus *server)
    : QObject(server)
    , m_server(server)
{
    if (!isSupervised())
        return;
    connect(server, &status::NodeStatus::ready, this, [this] {
        QByteArray status
            = QStringLiteral("STATUS=node %1 serving: client port %2, cluster port %3")
                  .arg(m_server->nodeId())
                  .arg(m_server->port())
                  .arg(m_server->clusterPort())
                  .toUtf8();
        if (m_server->metricsPort() != 0)
            status += ", metrics port " + QByteArray::number(m_server->metricsPort());
        notify("READY=1\n" + status);
    });
    connect(server, &status::NodeStatus::stopping, this,
        [this] { notify("STOPPING=1\nSTATUS=shutting down: draining clients"); });
    connect(server, &status::NodeStatus::startupFailed, this,
        [this](const QString &reason) { notify("STATUS=startup failed: " + reason.toUtf8()); });
}

bool ServiceNotifier::isSupervised()
{
    const char *socket = std::getenv("NOTIFY_SOCKET");
    return socket && *socket;
}

void ServiceNotifier::notify(const QByteArray &state)
{
    // sd_notify keeps NOTIFY_SOCKET (unset_environment 0) so that later states reach systemd too.
    const int sent = sd_notify(0, state.constData());
    if (sent < 0)
        qCWarning(lcService) << "cannot notify the service manager:" << std::strerror(-sent);
}

} // namespace wingman

#include "ServerFactory.h"

#include "ServerCoordinator.h"
#include "auth/JwtVerifier.h"
#include "cluster/ClusterModule.h"
#include "network/NetworkModule.h"
#include "storage/MemoryStorage.h"

#include <QHostAddress>
#include <QUuid>

namespace wingman {

ServerCoordinator *ServerFactory::create(ServerConfig config, QObject *parent)
{
    if (config.nodeId.isEmpty())
        config.nodeId = QStringLiteral("node-")
                        + QUuid::createUuid().toString(QUuid::WithoutBraces).left(8);

    const QHostAddress host(config.host);
    ServerCoordinator::Modules modules;
    modules.network = new network::NetworkModule(host, config.port, config.maxFrameBytes);
    modules.cluster = new cluster::ClusterModule(host, config.clusterPort);
    modules.storage = new storage::MemoryStorage;
    QString keyError;
    modules.verifier = auth::JwtVerifier::create(config.jwtSecret, &keyError);
    if (!modules.verifier)
        modules.configError = QStringLiteral("invalid value for jwtSecret: %1").arg(keyError);

    auto *coordinator = new ServerCoordinator(std::move(config), std::move(modules), parent);
    QMetaObject::invokeMethod(coordinator, &ServerCoordinator::start, Qt::QueuedConnection);
    return coordinator;
}

} // namespace wingman

#include "ServerFactory.h"

#include "ServerCoordinator.h"
#include "auth/JwtVerifier.h"
#include "cluster/ClusterModule.h"
#include "metrics/MetricsModule.h"
#include "network/NetworkModule.h"
#include "storage/MemoryStorage.h"
#include "storage/PostgresStorage.h"
#include "storage/SqliteStorage.h"
#include "storage/StorageUrl.h"

#include <QHostAddress>

namespace wingman {

namespace {

storage::Storage *createStorage(const QString &option, QString *error)
{
    QString why;
    const auto url = storage::StorageUrl::parse(option, &why);
    if (!url) {
        *error = QStringLiteral("invalid value for storage: '%1' (%2)")
                     .arg(storage::StorageUrl::redacted(option), why);
        return new storage::MemoryStorage;
    }
    switch (url->kind) {
    case storage::StorageUrl::Kind::Sqlite:
        return new storage::SqliteStorage(url->path);
    case storage::StorageUrl::Kind::Postgres:
        return new storage::PostgresStorage(*url);
    case storage::StorageUrl::Kind::Memory:
        break;
    }
    return new storage::MemoryStorage;
}

} // namespace

ServerCoordinator *ServerFactory::create(ServerConfig config, QObject *parent)
{
    ServerCoordinator::Modules modules;
    modules.storage = createStorage(config.storage, &modules.configError);

    const QHostAddress host(config.host);
    modules.network = new network::NetworkModule(host, config.port, config.maxFrameBytes);
    modules.cluster = new cluster::ClusterModule(host, config.clusterPort);
    if (config.metricsPort)
        modules.metrics = new metrics::MetricsModule(host, *config.metricsPort);
    QString keyError;
    modules.verifier = auth::JwtVerifier::create(config.jwtSecret, &keyError);
    if (!modules.verifier && modules.configError.isEmpty())
        modules.configError = QStringLiteral("invalid value for jwtSecret: %1").arg(keyError);
    if (modules.configError.isEmpty())
        modules.configError = config.productionProblem();

    auto *coordinator = new ServerCoordinator(std::move(config), std::move(modules), parent);
    QMetaObject::invokeMethod(coordinator, &ServerCoordinator::start, Qt::QueuedConnection);
    return coordinator;
}

} // namespace wingman

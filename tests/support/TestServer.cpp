#include "TestServer.h"

#include "ServerFactory.h"

#include <QSignalSpy>
#include <QTest>

namespace wingman::test {

ServerConfig testConfig()
{
    ServerConfig config;
    config.host = QStringLiteral("127.0.0.1");
    config.port = 0;
    config.clusterPort = 0;
    config.jwtSecret = kTestSecret;
    config.storage = QStringLiteral("memory:");
    return config;
}

std::unique_ptr<ServerCoordinator> startServer(const ServerConfig &config, int timeoutMs)
{
    std::unique_ptr<ServerCoordinator> server(ServerFactory::create(config));
    QSignalSpy ready(server.get(), &ServerCoordinator::ready);
    QSignalSpy failed(server.get(), &ServerCoordinator::startupFailed);
    if (!QTest::qWaitFor([&] { return !ready.isEmpty() || !failed.isEmpty(); }, timeoutMs)
        || ready.isEmpty()) {
        qWarning("test server did not start: %s",
            failed.isEmpty() ? "timeout" : qPrintable(failed.first().first().toString()));
        return nullptr;
    }
    return server;
}

bool stopServer(ServerCoordinator &server, int timeoutMs)
{
    if (server.state() == ServerCoordinator::State::Stopped)
        return true;
    QSignalSpy stopped(&server, &ServerCoordinator::stopped);
    server.shutdown();
    return !stopped.isEmpty() || stopped.wait(timeoutMs);
}

client::SyncEngineConfig testEngineConfig(quint16 port, const QString &nodeId)
{
    client::SyncEngineConfig config;
    config.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port));
    config.nodeId = nodeId;
    config.reconnectBaseMs = 50;
    config.reconnectMaxMs = 500;
    return config;
}

} // namespace wingman::test

#pragma once

#include "ServerConfig.h"
#include "ServerCoordinator.h"
#include "client/SyncEngineConfig.h"

#include <memory>

namespace wingman::test {

constexpr const char *kTestSecret = "wingman-test-secret";

// A config for an in-process node: loopback, OS-assigned ports, a known HS256 secret, memory
// storage.
ServerConfig testConfig();

// Creates a node and waits for ready(); null (with a test failure message logged) on failure.
std::unique_ptr<ServerCoordinator> startServer(
    const ServerConfig &config = testConfig(), int timeoutMs = 5000);

// A C++ client's config for ws://127.0.0.1:port/ with quick reconnects.
client::SyncEngineConfig testEngineConfig(quint16 port, const QString &nodeId);

// Shuts the node down and waits for stopped().
bool stopServer(ServerCoordinator &server, int timeoutMs = 10000);

} // namespace wingman::test

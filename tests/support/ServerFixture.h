#pragma once

#include "TestServer.h"

#include <QUrl>

#include <memory>

namespace wingman::test {

// ws://127.0.0.1:port/
QUrl loopbackUrl(quint16 port);

// The in-process node of a scenario test, one per test function: started from init() or the
// test, stopped from cleanup(), reached through ->.
//
//     void init() { QVERIFY(m_server.start()); }
//     void cleanup() { QVERIFY(m_server.stop()); }
class ServerFixture
{
public:
    // A node with this config in place of any running one, which is dropped without a
    // shutdown. False (with the reason logged) when it did not become ready in time.
    bool start(const ServerConfig &config = testConfig());
    // Shuts the node down and waits until it has stopped; true when none was running.
    bool stop();

    ServerCoordinator &node() const { return *m_server; }
    ServerCoordinator *operator->() const { return m_server.get(); }
    // Where clients reach the node.
    QUrl url() const { return loopbackUrl(m_server->port()); }

private:
    std::unique_ptr<ServerCoordinator> m_server;
};

} // namespace wingman::test

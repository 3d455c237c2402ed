#pragma once

#include "ServerCoordinator.h"

class QObject;

namespace wingman {

// Builds a node from its config and wires its modules; the only place that knows them all.
class ServerFactory
{
public:
    // Synchronous: the listeners start on the next event-loop turn. The caller owns the result
    // (or its parent does).
    static ServerCoordinator *create(ServerConfig config, QObject *parent = nullptr);
    // The request pipeline built and wired around modules made elsewhere (a test's storage, for
    // one); the caller calls start().
    static ServerCoordinator *assemble(
        ServerConfig config, ServerCoordinator::Modules modules, QObject *parent = nullptr);
};

} // namespace wingman

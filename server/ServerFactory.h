#pragma once

#include "ServerConfig.h"

class QObject;

namespace wingman {

class ServerCoordinator;

// Builds a node from its config and wires its modules; the only place that knows them all.
class ServerFactory
{
public:
    // Synchronous: the listeners start on the next event-loop turn. The caller owns the result
    // (or its parent does).
    static ServerCoordinator *create(ServerConfig config, QObject *parent = nullptr);
};

} // namespace wingman

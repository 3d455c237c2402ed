#pragma once

#include "ops/OperationHandler.h"
#include "processors/ResolverRegistry.h"
#include "protocol/ProcessorMessages.h"

#include <QDeadlineTimer>
#include <QHash>
#include <QObject>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::maps {
class MapRegistry;
}
namespace wingman::ops {
class Committer;
}

namespace wingman::processors {

class ScriptPool;

// REGISTER_RESOLVER, UNREGISTER_RESOLVER and LIST_RESOLVERS, and the resolver chain that every
// client LWW write to a map with resolvers passes before it merges (docs/protocol.md "Conflict
// resolvers"). The chain runs on the event loop, in the pool's local sandbox, each call bounded
// by the time limit: a write's verdict is needed before its batch is acknowledged. A merge that
// stores another value, and the re-assertion of the stored record after a reject, are server
// writes committed on their own, so every subscriber hears of them, the writer included.
class ResolverHandler : public QObject
{
    Q_OBJECT
public:
    struct Options {
        qsizetype maxCodeChars = 50000;
    };

    ResolverHandler(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
        ops::Committer &committer, storage::Storage &storage, ScriptPool &scripts, Options options,
        QObject *parent = nullptr);

    void handle(network::Session &session, const protocol::RegisterResolverMessage &message);
    void handle(network::Session &session, const protocol::UnregisterResolverMessage &message);
    void handle(network::Session &session, const protocol::ListResolversMessage &message);

    // The OperationHandler's LWW gate.
    ops::OperationHandler::LwwVerdict resolve(
        network::Session &session, const protocol::ClientOp &op);

private:
    std::optional<QString> refusal(const network::Session &session, const QString &mapName,
        const QCborValue &definition, Resolver *parsed);
    // Stores value (null: a tombstone) at key under a fresh server timestamp and publishes it to
    // every subscriber.
    void serverWrite(const QString &mapName, const QString &key, const QCborValue &value);
    // Sends response once what the registry stored is durable.
    template <typename Response> void replyWhenStored(network::Session &session, Response response);

    maps::MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    ops::Committer &m_committer;
    ScriptPool &m_scripts;
    storage::Storage &m_storage;
    Options m_options;
    ResolverRegistry m_registry;
    // Resolvers the watchdog stopped, by map and name: skipped until the deadline, so that one
    // that spins cannot hold every write to its map for the time limit.
    QHash<QString, QDeadlineTimer> m_benched;
};

} // namespace wingman::processors

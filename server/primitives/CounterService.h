#pragma once

#include "primitives/CounterState.h"
#include "protocol/PrimitiveMessages.h"

#include <QHash>
#include <QList>
#include <QSet>
#include <QString>

#include <functional>
#include <optional>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::network {
class Session;
}
namespace wingman::storage {
class Storage;
}

namespace wingman::primitives {

// PN counters (docs/protocol.md "PN counters"): the merged state of each counter, kept in storage
// meta so that it outlives restarts, and the connections subscribed to it. A SYNC's merge is
// committed before its COUNTER_UPDATE goes out.
class CounterService
{
public:
    // A counter changed by a client of this node, for the other members (docs/cluster.md §7).
    using Relay = std::function<void(const QString &name, const CounterState &state)>;

    CounterService(storage::Storage &storage, const auth::SecurityPolicy &policy);

    void setRelay(Relay relay) { m_relay = std::move(relay); }

    void handle(network::Session &session, const protocol::CounterRequestMessage &message);
    void handle(network::Session &session, const protocol::CounterSyncMessage &message);
    // A member's state: merged, stored, and sent to local subscribers when it changed anything.
    void mergeRemote(const QString &name, const CounterState &state);
    void removeConnection(network::Session *session);

    // The counter's current state (empty if it never counted).
    CounterState state(const QString &name);
    // A hash of every stored counter's state, by name: what anti-entropy compares
    // (docs/cluster.md §5).
    QHash<QString, quint32> digests();
    static quint32 digestOf(const CounterState &state);
    static QString metaKey(const QString &name) { return QStringLiteral("counter/") + name; }
    // The names of the stored counters, as a JSON array.
    static QString namesKey() { return QStringLiteral("counters"); }

private:
    bool admit(network::Session &session, const QString &name, bool write) const;
    CounterState &stateOf(const QString &name);
    void subscribe(network::Session &session, const QString &name);
    // Stores the state if it changed, then sends COUNTER_UPDATE to every subscriber.
    void commitAndPublish(const QString &name, bool changed);

    // Every stored counter's name, read from storage meta at first use.
    QSet<QString> &names();

    storage::Storage &m_storage;
    const auth::SecurityPolicy &m_policy;
    Relay m_relay;
    QHash<QString, CounterState> m_states;
    std::optional<QSet<QString>> m_names;
    QHash<QString, QList<network::Session *>> m_subscribers;
    QHash<network::Session *, QSet<QString>> m_countersOf;
};

} // namespace wingman::primitives

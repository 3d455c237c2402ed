#include "primitives/CounterService.h"

#include "auth/SecurityPolicy.h"
#include "crdt/Hash.h"
#include "network/Session.h"
#include "primitives/PrimitivesLogging.h"
#include "storage/Storage.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QPointer>

namespace wingman::primitives {

using auth::SecurityPolicy;
using protocol::ErrorCode;

CounterService::CounterService(storage::Storage &storage, const SecurityPolicy &policy)
    : m_storage(storage)
    , m_policy(policy)
{ }

bool CounterService::admit(network::Session &session, const QString &name, bool write) const
{
    if (name.isEmpty()) {
        session.sendError(ErrorCode::BadRequest, QStringLiteral("Invalid counter name"));
        return false;
    }
    const SecurityPolicy::Action action
        = write ? SecurityPolicy::Action::Put : SecurityPolicy::Action::Read;
    if (!m_policy.isAllowed(session.principal(), QStringLiteral("counter:") + name, action)) {
        session.sendError(
            ErrorCode::Forbidden, QStringLiteral("Access Denied for counter %1").arg(name));
        return false;
    }
    return true;
}

CounterState &CounterService::stateOf(const QString &name)
{
    auto it = m_states.find(name);
    if (it == m_states.end())
        it = m_states.insert(name, CounterState::fromJson(m_storage.loadMeta(metaKey(name))));
    return *it;
}

CounterState CounterService::state(const QString &name)
{
    return stateOf(name);
}

QSet<QString> &CounterService::names()
{
    if (!m_names) {
        m_names.emplace();
        const QJsonArray stored
            = QJsonDocument::fromJson(m_storage.loadMeta(namesKey()).toUtf8()).array();
        for (const QJsonValue &name : stored) {
            if (name.isString())
                m_names->insert(name.toString());
        }
    }
    return *m_names;
}

quint32 CounterService::digestOf(const CounterState &state)
{
    return crdt::Hash::of(state.toJson());
}

QHash<QString, quint32> CounterService::digests()
{
    QHash<QString, quint32> digests;
    for (const QString &name : names())
        digests.insert(name, digestOf(stateOf(name)));
    return digests;
}

void CounterService::subscribe(network::Session &session, const QString &name)
{
    QSet<QString> &names = m_countersOf[&session];
    if (names.contains(name))
        return;
    names.insert(name);
    m_subscribers[name].append(&session);
}

void CounterService::handle(
    network::Session &session, const protocol::CounterRequestMessage &message)
{
    if (!admit(session, message.name, false))
        return;
    subscribe(session, message.name);
    session.send(protocol::CounterResponseMessage { message.name, stateOf(message.name).toCbor() });
}

void CounterService::handle(network::Session &session, const protocol::CounterSyncMessage &message)
{
    if (!admit(session, message.name, true))
        return;
    QString why;
    const std::optional<CounterState> incoming = CounterState::fromCbor(message.state, &why);
    if (!incoming) {
        session.sendError(
            ErrorCode::BadRequest, QStringLiteral("Invalid counter state: %1").arg(why));
        return;
    }
    subscribe(session, message.name);
    const bool changed = stateOf(message.name).merge(*incoming);
    commitAndPublish(message.name, changed);
    if (changed && m_relay)
        m_relay(message.name, stateOf(message.name));
}

void CounterService::mergeRemote(const QString &name, const CounterState &state)
{
    if (stateOf(name).merge(state))
        commitAndPublish(name, true);
}

void CounterService::commitAndPublish(const QString &name, bool changed)
{
    if (changed) {
        m_storage.storeMeta(metaKey(name), stateOf(name).toJson());
        if (QSet<QString> &known = names(); !known.contains(name)) {
            known.insert(name);
            QJsonArray list;
            for (const QString &each : known)
                list.append(each);
            m_storage.storeMeta(
                namesKey(), QString::fromUtf8(QJsonDocument(list).toJson(QJsonDocument::Compact)));
        }
    }
    QList<QPointer<network::Session>> subscribers;
    for (network::Session *session : m_subscribers.value(name))
        subscribers.append(session);
    // An empty write completes after the group that commits the meta value above, and in order
    // with the writes before it.
    m_storage.write({},
        [subscribers, update = protocol::CounterUpdateMessage { name, stateOf(name).toCbor() }](
            const QString &error) {
            if (!error.isEmpty()) {
                qCWarning(lcPrimitives).noquote()
                    << "counter" << update.name << "not stored:" << error;
                return;
            }
            const QByteArray encoded = network::Session::encode(update);
            for (const QPointer<network::Session> &session : subscribers) {
                if (session)
                    session->sendEncoded(encoded);
            }
        });
}

void CounterService::removeConnection(network::Session *session)
{
    const auto names = m_countersOf.constFind(session);
    if (names == m_countersOf.cend())
        return;
    for (const QString &name : *names) {
        auto subscribers = m_subscribers.find(name);
        subscribers->removeOne(session);
        if (subscribers->isEmpty())
            m_subscribers.erase(subscribers);
    }
    m_countersOf.erase(names);
}

} // namespace wingman::primitives

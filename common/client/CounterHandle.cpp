#include "client/CounterHandle.h"

#include "client/ClientLogging.h"
#include "client/SyncEngine.h"
#include "protocol/PrimitiveMessages.h"

namespace wingman::client {

namespace {
QCborMap sideToCbor(const QMap<QString, qint64> &side)
{
    QCborMap map;
    for (auto it = side.cbegin(); it != side.cend(); ++it)
        map.insert(it.key(), it.value());
    return map;
}
} // namespace

CounterHandle::CounterHandle(SyncEngine *engine, QString name)
    : QObject(engine)
    , m_engine(engine)
    , m_name(std::move(name))
{
    m_debounce.setSingleShot(true);
    m_debounce.setInterval(kDebounceMs);
    connect(&m_debounce, &QTimer::timeout, this, &CounterHandle::sync);
}

void CounterHandle::increment(qint64 by)
{
    if (!m_engine)
        return;
    m_counter.increment(m_engine->nodeId(), by);
    m_debounce.start();
    Q_EMIT changed(value());
}

void CounterHandle::decrement(qint64 by)
{
    if (!m_engine)
        return;
    m_counter.decrement(m_engine->nodeId(), by);
    m_debounce.start();
    Q_EMIT changed(value());
}

void CounterHandle::sync()
{
    if (!m_engine || !m_engine->isAuthenticated())
        return;
    // The TopGun client's key names; the server accepts {p, n} too.
    const QCborMap state { { QStringLiteral("positive"), sideToCbor(m_counter.positive()) },
        { QStringLiteral("negative"), sideToCbor(m_counter.negative()) } };
    m_engine->send(protocol::CounterSyncMessage { m_name, state }.toCbor());
}

void CounterHandle::merge(const QCborMap &state)
{
    const std::optional<crdt::PnCounter> incoming = crdt::PnCounter::fromCbor(state);
    if (!incoming) {
        qCWarning(lcClient) << "ignoring unreadable state of counter" << m_name;
        return;
    }
    if (m_counter.merge(*incoming))
        Q_EMIT changed(value());
}

} // namespace wingman::client

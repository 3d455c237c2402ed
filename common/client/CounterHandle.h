#pragma once

#include "crdt/PnCounter.h"

#include <QCborMap>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>

namespace wingman::client {

class SyncEngine;

// A PN counter shared through the server, made by SyncEngine::counter() (docs/protocol.md "PN
// counters"). Made while authenticated, it asks for the server's state (COUNTER_REQUEST); local
// changes count under the engine's node id and go out, debounced by kDebounceMs, as COUNTER_SYNC
// of the whole state while authenticated (the state is cumulative, so nothing is queued). The
// server's COUNTER_RESPONSE and COUNTER_UPDATE merge in.
class CounterHandle : public QObject
{
    Q_OBJECT
public:
    static constexpr int kDebounceMs = 50;

    const QString &name() const { return m_name; }
    qint64 value() const { return m_counter.value(); }
    const crdt::PnCounter &state() const { return m_counter; }
    void increment(qint64 by = 1);
    void decrement(qint64 by = 1);

Q_SIGNALS:
    void changed(qint64 value);

private:
    friend class SyncEngine;

    CounterHandle(SyncEngine *engine, QString name);
    void merge(const QCborMap &state);
    void sync();

    QPointer<SyncEngine> m_engine;
    QString m_name;
    crdt::PnCounter m_counter;
    QTimer m_debounce;
};

} // namespace wingman::client

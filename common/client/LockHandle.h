#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>

namespace wingman::protocol {
struct LockGrantedMessage;
struct LockReleasedMessage;
} // namespace wingman::protocol

namespace wingman::client {

class SyncEngine;

// A lock on the server, made by SyncEngine::lock() (docs/protocol.md "Locks"). lock() asks for it
// with a new request id (authenticated only); acquired() follows the grant, failed() when none
// came within kGrantTimeoutMs. unlock() releases with the held fencing token. Ownership is the
// connection's: a dropped connection loses the lock (lost()).
class LockHandle : public QObject
{
    Q_OBJECT
public:
    static constexpr int kGrantTimeoutMs = 30000;
    static constexpr int kReleaseTimeoutMs = 5000;

    const QString &name() const { return m_name; }
    bool isLocked() const { return m_locked; }
    qint64 fencingToken() const { return m_token; }
    // False when not authenticated or a request is pending already.
    bool lock(qint64 ttlMs = 10000);
    // False when the lock is not held; released() follows.
    bool unlock();

Q_SIGNALS:
    void acquired(qint64 fencingToken);
    void failed();
    void released(bool success);
    void lost();

private:
    friend class SyncEngine;

    LockHandle(SyncEngine *engine, QString name);
    void onGranted(const protocol::LockGrantedMessage &message);
    void onReleased(const protocol::LockReleasedMessage &message);
    void connectionLost();

    QPointer<SyncEngine> m_engine;
    QString m_name;
    bool m_locked = false;
    qint64 m_token = 0;
    QString m_grantRequest;
    QString m_releaseRequest;
    QTimer m_grantTimer;
    QTimer m_releaseTimer;
};

} // namespace wingman::client

#include "client/LockHandle.h"

#include "client/SyncEngine.h"
#include "protocol/PrimitiveMessages.h"

#include <QUuid>

namespace wingman::client {

namespace {
QString newRequestId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}
} // namespace

LockHandle::LockHandle(SyncEngine *engine, QString name)
    : QObject(engine)
    , m_engine(engine)
    , m_name(std::move(name))
{
    m_grantTimer.setSingleShot(true);
    m_grantTimer.setInterval(kGrantTimeoutMs);
    connect(&m_grantTimer, &QTimer::timeout, this, [this] {
        m_grantRequest.clear();
        Q_EMIT failed();
    });
    m_releaseTimer.setSingleShot(true);
    m_releaseTimer.setInterval(kReleaseTimeoutMs);
    connect(&m_releaseTimer, &QTimer::timeout, this, [this] {
        m_releaseRequest.clear();
        Q_EMIT released(false);
    });
}

bool LockHandle::lock(qint64 ttlMs)
{
    if (!m_engine || !m_engine->isAuthenticated() || !m_grantRequest.isEmpty())
        return false;
    m_grantRequest = newRequestId();
    m_grantTimer.start();
    m_engine->send(protocol::LockRequestMessage { m_grantRequest, m_name, ttlMs }.toCbor());
    return true;
}

bool LockHandle::unlock()
{
    if (!m_locked || !m_engine || !m_engine->isAuthenticated())
        return false;
    m_locked = false;
    m_releaseRequest = newRequestId();
    m_releaseTimer.start();
    m_engine->send(protocol::LockReleaseMessage { m_releaseRequest, m_name, m_token }.toCbor());
    return true;
}

void LockHandle::onGranted(const protocol::LockGrantedMessage &message)
{
    // A grant for an abandoned request is ignored: its lease runs out on the server.
    if (message.requestId != m_grantRequest)
        return;
    m_grantRequest.clear();
    m_grantTimer.stop();
    m_locked = true;
    m_token = message.fencingToken;
    Q_EMIT acquired(m_token);
}

void LockHandle::onReleased(const protocol::LockReleasedMessage &message)
{
    if (message.requestId != m_releaseRequest)
        return;
    m_releaseRequest.clear();
    m_releaseTimer.stop();
    Q_EMIT released(message.success);
}

void LockHandle::connectionLost()
{
    if (!m_locked)
        return;
    m_locked = false;
    Q_EMIT lost();
}

} // namespace wingman::client

#include "client/SyncEngine.h"

#include "client/ClientLogging.h"
#include "client/SyncConnection.h"
#include "protocol/Messages.h"

namespace wingman::client {

using namespace Qt::StringLiterals;

void SyncEngine::setAuthToken(const QString &token)
{
    m_token = token;
    if (m_state == State::Error && m_storage->isOpen()) {
        m_backoff.reset();
        connectNow();
        return;
    }
    if (m_state == State::Authenticating && m_authRequested)
        sendAuth();
}

void SyncEngine::start()
{
    if (m_state != State::Initial && m_state != State::Disconnected && m_state != State::Error)
        return;
    if (!m_storage->isOpen()) {
        setState(State::Error);
        Q_EMIT error(u"client storage is not open: "_s + m_storage->errorString());
        return;
    }
    m_backoff.reset();
    connectNow();
}

void SyncEngine::close()
{
    m_reconnectTimer.stop();
    if (discardSocket()) {
        for (auto &[name, map] : m_maps)
            map->disconnected();
    }
    if (m_state != State::Initial)
        setState(State::Disconnected);
}

void SyncEngine::connectNow()
{
    discardSocket();
    m_authRequested = false;
    setState(State::Connecting);
    m_connection->open();
}

void SyncEngine::onSocketConnected()
{
    setState(State::Authenticating);
}

bool SyncEngine::discardSocket()
{
    m_tickTimer.stop();
    m_flushTimer.stop();
    return m_connection->discard();
}

void SyncEngine::dropConnection(const QString &reason)
{
    if (!discardSocket())
        return;
    qCInfo(lcClient) << "connection to" << m_config.url << "lost:" << reason;
    m_pending.markAllUnsent();
    for (auto &[name, map] : m_maps)
        map->disconnected();
    for (const QPointer<QueryHandle> &handle : std::as_const(m_queries)) {
        if (handle)
            handle->connectionLost();
    }
    scheduleReconnect();
}

void SyncEngine::scheduleReconnect()
{
    if (m_state == State::Error || m_state == State::Disconnected)
        return;
    std::optional<int> delay = m_backoff.nextDelay();
    if (!delay) {
        setState(State::Disconnected);
        Q_EMIT error(u"gave up after %1 reconnect attempts"_s.arg(m_backoff.attempts()));
        return;
    }
    // SHUTDOWN_PENDING told us when the server expects to be back.
    const qint64 wait = std::max<qint64>(*delay, std::exchange(m_retryAfterMs, 0));
    qCDebug(lcClient) << "reconnecting in" << wait << "ms";
    setState(State::Backoff);
    m_reconnectTimer.start(int(wait));
}

void SyncEngine::send(const QCborMap &message)
{
    m_connection->send(message);
}

void SyncEngine::sendAll(const QList<QCborMap> &messages)
{
    for (const QCborMap &message : messages)
        send(message);
}

void SyncEngine::sendAuth()
{
    if (m_token.isEmpty()) {
        // Nothing to send yet; setAuthToken() continues from here, so do not time out.
        qCInfo(lcClient) << "server requires authentication; waiting for a token";
        m_connection->stopAuthDeadline();
        return;
    }
    m_connection->armAuthDeadline();
    send(protocol::AuthMessage { m_token, std::nullopt }.toCbor());
}

void SyncEngine::handleAuthAck()
{
    // The server may answer a repeated AUTH again; only the first ACK starts the session.
    if (m_state != State::Authenticating)
        return;
    m_connection->stopAuthDeadline();
    m_backoff.reset();
    m_retryAfterMs = 0;
    qCInfo(lcClient) << "authenticated with" << m_config.url;
    setState(State::Syncing);

    m_connection->startHeartbeat();
    m_tickTimer.start();

    m_pending.markAllUnsent();
    flushOps();
    for (auto &[name, map] : m_maps)
        send(map->syncInit());
    for (const QPointer<QueryHandle> &handle : std::as_const(m_queries)) {
        if (handle) {
            send(protocol::QuerySubMessage {
                handle->queryId(), handle->mapName(), handle->query().toCbor() }
                     .toCbor());
        }
    }
    resumePrimitives();
    updateConnectedState();
}

void SyncEngine::handleAuthFail(const QCborMap &message)
{
    const auto failure = protocol::AuthFailMessage::fromCbor(message);
    const QString reason = failure ? failure->error : QString();
    qCWarning(lcClient) << "authentication failed:" << reason;
    // Retrying with the same token cannot succeed: wait for setAuthToken().
    discardSocket();
    for (auto &[name, map] : m_maps)
        map->disconnected();
    setState(State::Error);
    Q_EMIT error(u"authentication failed: "_s + reason);
}

} // namespace wingman::client

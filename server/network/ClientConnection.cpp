#include "network/ClientConnection.h"

#include "network/MessageRouter.h"
#include "network/NetworkModule.h"
#include "protocol/AuthMessages.h"
#include "protocol/BatchContainer.h"

#include <QWebSocket>

#include <algorithm>
#include <climits>
#include <limits>

namespace wingman::network {

namespace {

// A slow consumer gets this long to take the 4002 close frame before its socket is aborted; one
// that never reads would otherwise hold its backlog until TCP gives up.
constexpr int kSlowConsumerAbortMs = 1000;

} // namespace

ClientConnection::ClientConnection(
    QWebSocket *socket, quint64 id, MessageRouter &router, OutboundLimits limits, QObject *parent)
    : Session(parent)
    , m_socket(socket)
    , m_id(id)
    , m_router(router)
    , m_remoteAddress(
          QStringLiteral("%1:%2").arg(socket->peerAddress().toString()).arg(socket->peerPort()))
    , m_connectedAt(QDateTime::currentDateTimeUtc())
    , m_limits(limits)
{
    m_socket->setParent(this);
    m_overBudgetTimer.setSingleShot(true);
    m_overBudgetTimer.setInterval(int(std::clamp<qint64>(m_limits.graceMs, 0, INT_MAX)));
    connect(&m_overBudgetTimer, &QTimer::timeout, this, [this] {
        const qint64 queued = queuedBytes();
        if (!m_closing && queued > m_limits.budgetBytes)
            dropSlowConsumer(queued);
    });
    connect(m_socket, &QWebSocket::bytesWritten, this, &ClientConnection::checkOutbound);
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &ClientConnection::handleFrame);
    connect(m_socket, &QWebSocket::textMessageReceived, this,
        [this](const QString &frame) { handleFrame(frame.toUtf8()); });
    connect(m_socket, &QWebSocket::disconnected, this, [this] {
        m_overBudgetTimer.stop();
        m_outbox.clear();
        m_outboxBytes = 0;
        Q_EMIT disconnected();
    });
}

ClientConnection::~ClientConnection() = default;

void ClientConnection::start()
{
    sendUrgent(protocol::AuthRequiredMessage {});
}

qint64 ClientConnection::queuedBytes() const
{
    return m_outboxBytes + m_socket->bytesToWrite();
}

bool ClientConnection::isOpen() const
{
    return !m_closing && m_socket->state() == QAbstractSocket::ConnectedState;
}

void ClientConnection::handleFrame(const QByteArray &frame)
{
    if (m_closing || !m_reading)
        return;
    ++m_messagesIn;
    m_bytesIn += quint64(frame.size());
    m_router.dispatch(*this, frame);
}

void ClientConnection::setAuthenticated(const auth::Principal &principal)
{
    m_principal = principal;
    setAuthState(AuthState::Authenticated);
}

void ClientConnection::setAuthFailed()
{
    setAuthState(AuthState::Failed);
}

void ClientConnection::setAuthState(AuthState state)
{
    if (m_authState == state)
        return;
    m_authState = state;
    Q_EMIT authStateChanged(state);
}

void ClientConnection::sendUrgentEncoded(const QByteArray &encoded)
{
    if (!isOpen())
        return;
    flush();
    ++m_messagesOut;
    write(encoded);
}

void ClientConnection::sendEncoded(const QByteArray &encoded)
{
    if (!isOpen())
        return;
    ++m_messagesOut;
    m_outboxBytes += encoded.size();
    m_outbox.append(encoded);
    checkOutbound();
    if (m_flushScheduled || m_closing)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, &ClientConnection::flush, Qt::QueuedConnection);
}

void ClientConnection::flush()
{
    m_flushScheduled = false;
    if (m_outbox.isEmpty())
        return;
    const QByteArrayList outbox = std::exchange(m_outbox, {});
    m_outboxBytes = 0;
    if (outbox.size() == 1)
        write(outbox.constFirst());
    else
        write(protocol::BatchContainer::encode(outbox));
}

void ClientConnection::write(const QByteArray &frame)
{
    m_bytesOut += quint64(frame.size());
    m_socket->sendBinaryMessage(frame);
    checkOutbound();
}

void ClientConnection::checkOutbound()
{
    if (m_closing)
        return;
    const qint64 queued = queuedBytes();
    // Twice the budget cuts off at once: memory stays bounded however fast events arrive.
    const qint64 ceiling = m_limits.budgetBytes > std::numeric_limits<qint64>::max() / 2
        ? std::numeric_limits<qint64>::max()
        : 2 * m_limits.budgetBytes;
    if (queued > ceiling) {
        dropSlowConsumer(queued);
        return;
    }
    if (queued <= m_limits.budgetBytes)
        m_overBudgetTimer.stop();
    else if (!m_overBudgetTimer.isActive())
        m_overBudgetTimer.start();
}

void ClientConnection::dropSlowConsumer(qint64 queued)
{
    qCWarning(lcNetwork).noquote()
        << QStringLiteral("client %1 (%2) is a slow consumer: %3 bytes queued, budget %4; closing")
               .arg(m_id)
               .arg(m_remoteAddress)
               .arg(queued)
               .arg(m_limits.budgetBytes);
    m_overBudgetTimer.stop();
    m_outbox.clear();
    m_outboxBytes = 0;
    m_closing = true;
    m_socket->close(
        protocol::toWebSocket(protocol::CloseCode::SlowConsumer), QStringLiteral("Slow Consumer"));
    QTimer::singleShot(kSlowConsumerAbortMs, this, [this] {
        if (m_socket->state() != QAbstractSocket::UnconnectedState)
            m_socket->abort();
    });
    Q_EMIT slowConsumer(queued);
}

void ClientConnection::close(protocol::CloseCode code, const QString &reason)
{
    if (m_closing)
        return;
    flush();
    m_closing = true;
    m_socket->close(protocol::toWebSocket(code), reason);
}

void ClientConnection::stopReading(const QByteArray &notice)
{
    m_reading = false;
    sendUrgentEncoded(notice);
}

void ClientConnection::abort()
{
    m_closing = true;
    m_socket->abort();
}

} // namespace wingman::network

#include "network/ClientConnection.h"

#include "auth/JwtVerifier.h"
#include "network/MessageRouter.h"
#include "network/NetworkModule.h"
#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

#include <QDateTime>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <climits>
#include <limits>

namespace wingman::network {

namespace {

// A slow consumer gets this long to take the 4002 close frame before its socket is aborted; one
// that never reads would otherwise hold its backlog until TCP gives up.
constexpr int kSlowConsumerAbortMs = 1000;
constexpr auto kSlowConsumerClose = QWebSocketProtocol::CloseCode(4002);

QCborMap typed(const char *type)
{
    QCborMap message;
    message.insert(QStringLiteral("type"), QString::fromLatin1(type));
    return message;
}

} // namespace

QString authStateName(AuthState state)
{
    switch (state) {
    case AuthState::Pending:
        return QStringLiteral("pending");
    case AuthState::Authenticated:
        return QStringLiteral("authenticated");
    case AuthState::Failed:
        return QStringLiteral("failed");
    }
    return {};
}

ClientConnection::ClientConnection(QWebSocket *socket, quint64 id,
                                   const auth::JwtVerifier &verifier, const MessageRouter &router,
                                   OutboundLimits limits, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_id(id)
    , m_verifier(verifier)
    , m_router(router)
    , m_remoteAddress(QStringLiteral("%1:%2")
                          .arg(socket->peerAddress().toString())
                          .arg(socket->peerPort()))
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
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &ClientConnection::onBinaryFrame);
    connect(m_socket, &QWebSocket::textMessageReceived, this, &ClientConnection::onTextFrame);
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
    sendUrgent(typed("AUTH_REQUIRED"));
}

qint64 ClientConnection::queuedBytes() const
{
    return m_outboxBytes + m_socket->bytesToWrite();
}

bool ClientConnection::isOpen() const
{
    return !m_closing && m_socket->state() == QAbstractSocket::ConnectedState;
}

void ClientConnection::onBinaryFrame(const QByteArray &frame)
{
    handleFrame(frame);
}

void ClientConnection::onTextFrame(const QString &frame)
{
    handleFrame(frame.toUtf8());
}

void ClientConnection::handleFrame(const QByteArray &frame)
{
    if (m_closing)
        return;
    ++m_messagesIn;
    m_bytesIn += quint64(frame.size());

    if (m_authState == AuthState::Authenticated && m_router.routesOps()) {
        if (auto ops = m_opDecoder.decode(frame)) {
            m_router.routeOps(*this, std::move(*ops));
            return;
        }
    }

    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (decoded.status == protocol::FrameDecodeResult::Undecodable) {
        qCInfo(lcNetwork) << "client" << m_id << "sent an undecodable frame:" << decoded.error.reason;
        close(QWebSocketProtocol::CloseCodeProtocolError, QStringLiteral("Protocol Error"));
        return;
    }
    if (decoded.status == protocol::FrameDecodeResult::InvalidMessage) {
        sendError(400, QStringLiteral("Invalid message format"));
        return;
    }

    const QString type = decoded.type;
    if (type == u"PING") {
        handlePing(decoded.message);
        return;
    }
    if (type == u"AUTH") {
        handleAuth(decoded.message);
        return;
    }
    if (m_authState != AuthState::Authenticated) {
        close(QWebSocketProtocol::CloseCode(4001), QStringLiteral("Auth required"));
        return;
    }
    if (!m_router.route(*this, type, decoded.message))
        sendError(400, QStringLiteral("Invalid message format"));
}

void ClientConnection::handlePing(const QCborMap &)
{
    // PONG never carries a numeric `timestamp`: the TopGun client would feed it to its HLC.
    QCborMap pong = typed("PONG");
    pong.insert(QStringLiteral("serverTime"), QDateTime::currentMSecsSinceEpoch());
    sendUrgent(pong);
}

void ClientConnection::handleAuth(const QCborMap &message)
{
    if (m_authState == AuthState::Authenticated) {
        // The TopGun client may repeat AUTH on one connection; answering keeps it moving.
        sendUrgent(typed("AUTH_ACK"));
        return;
    }
    QCborValue token = message.value(QStringLiteral("token"));
    if (!token.isString())
        token = message.value(QStringLiteral("payload")).toMap().value(QStringLiteral("token"));
    if (!token.isString()) {
        sendError(400, QStringLiteral("Invalid message format"));
        return;
    }

    const auto result = m_verifier.verify(token.toString().toUtf8(),
                                          QDateTime::currentSecsSinceEpoch());
    if (!result.ok) {
        qCInfo(lcNetwork) << "client" << m_id << "failed authentication:" << result.error;
        QCborMap fail = typed("AUTH_FAIL");
        fail.insert(QStringLiteral("error"), result.error);
        sendUrgent(fail);
        setAuthState(AuthState::Failed);
        close(QWebSocketProtocol::CloseCode(4001), QStringLiteral("Unauthorized"));
        return;
    }
    m_principal = result.principal;
    setAuthState(AuthState::Authenticated);
    sendUrgent(typed("AUTH_ACK"));
}

void ClientConnection::setAuthState(AuthState state)
{
    if (m_authState == state)
        return;
    m_authState = state;
    Q_EMIT authStateChanged(state);
}

void ClientConnection::send(const QCborMap &message)
{
    if (!isOpen())
        return;
    sendEncoded(protocol::Frame::encode(message));
}

void ClientConnection::sendUrgent(const QCborMap &message)
{
    if (!isOpen())
        return;
    flush();
    ++m_messagesOut;
    write(protocol::Frame::encode(message));
}

void ClientConnection::sendError(int code, const QString &text)
{
    QCborMap payload;
    payload.insert(QStringLiteral("code"), code);
    payload.insert(QStringLiteral("message"), text);
    QCborMap error = typed("ERROR");
    error.insert(QStringLiteral("payload"), payload);
    sendUrgent(error);
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
    m_socket->close(kSlowConsumerClose, QStringLiteral("Slow Consumer"));
    QTimer::singleShot(kSlowConsumerAbortMs, this, [this] {
        if (m_socket->state() != QAbstractSocket::UnconnectedState)
            m_socket->abort();
    });
    Q_EMIT slowConsumer(queued);
}

void ClientConnection::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    if (m_closing)
        return;
    flush();
    m_closing = true;
    m_socket->close(code, reason);
}

void ClientConnection::abort()
{
    m_closing = true;
    m_socket->abort();
}

} // namespace wingman::network

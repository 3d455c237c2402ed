#pragma once

#include "auth/Principal.h"
#include "protocol/OpBatchDecoder.h"

#include <QByteArrayList>
#include <QCborMap>
#include <QDateTime>
#include <QObject>
#include <QTimer>
#include <QWebSocketProtocol>

class QWebSocket;

namespace wingman::auth {
class JwtVerifier;
}

namespace wingman::network {

class MessageRouter;

enum class AuthState { Pending, Authenticated, Failed };
QString authStateName(AuthState state);

// How much a connection may leave unsent. Over budgetBytes for longer than graceMs, or over
// twice budgetBytes at any moment, the connection is cut off as a slow consumer.
struct OutboundLimits {
    qint64 budgetBytes = 8LL * 1024 * 1024;
    qint64 graceMs = 2000;
};

// One client socket: the auth gate, the principal, and an outbound queue that coalesces what a
// single event-loop turn produces into one frame. A client that does not read what it is sent
// is closed with 4002 "Slow Consumer" (see OutboundLimits) so its backlog cannot grow unbounded.
class ClientConnection : public QObject
{
    Q_OBJECT
public:
    ClientConnection(QWebSocket *socket, quint64 id, const auth::JwtVerifier &verifier,
                     const MessageRouter &router, OutboundLimits limits = {},
                     QObject *parent = nullptr);
    ~ClientConnection() override;

    // Sends AUTH_REQUIRED; call once the connection is wired.
    void start();

    quint64 id() const { return m_id; }
    QString remoteAddress() const { return m_remoteAddress; }
    AuthState authState() const { return m_authState; }
    const auth::Principal &principal() const { return m_principal; }
    QDateTime connectedAt() const { return m_connectedAt; }
    quint64 messagesIn() const { return m_messagesIn; }
    quint64 messagesOut() const { return m_messagesOut; }
    quint64 bytesIn() const { return m_bytesIn; }
    quint64 bytesOut() const { return m_bytesOut; }
    // Bytes not yet handed to the kernel: this connection's outbox plus the socket's buffer.
    qint64 queuedBytes() const;
    bool isOpen() const;
    QWebSocket *socket() const { return m_socket; }

    // Queued and coalesced with whatever else this event-loop turn sends.
    void send(const QCborMap &message);
    // An already-encoded message, e.g. one event frame shared by many subscribers.
    void sendEncoded(const QByteArray &encoded);
    // Flushes the queue first, then writes at once (auth results, errors, shutdown notices).
    void sendUrgent(const QCborMap &message);
    void sendError(int code, const QString &message);
    void close(QWebSocketProtocol::CloseCode code, const QString &reason);
    void abort();

Q_SIGNALS:
    void authStateChanged(wingman::network::AuthState state);
    void disconnected();
    // The connection was over its outbound limits and is being cut off (close 4002).
    void slowConsumer(qint64 queuedBytes);

private:
    void onBinaryFrame(const QByteArray &frame);
    void onTextFrame(const QString &frame);
    void handleFrame(const QByteArray &frame);
    void handleAuth(const QCborMap &message);
    void handlePing(const QCborMap &message);
    void flush();
    void write(const QByteArray &frame);
    void setAuthState(AuthState state);
    void checkOutbound();
    void dropSlowConsumer(qint64 queued);

    QWebSocket *m_socket;
    protocol::OpBatchDecoder m_opDecoder;
    quint64 m_id;
    const auth::JwtVerifier &m_verifier;
    const MessageRouter &m_router;
    QString m_remoteAddress;
    QDateTime m_connectedAt;
    AuthState m_authState = AuthState::Pending;
    auth::Principal m_principal;
    QByteArrayList m_outbox;
    qint64 m_outboxBytes = 0;
    bool m_flushScheduled = false;
    bool m_closing = false;
    OutboundLimits m_limits;
    QTimer m_overBudgetTimer; // runs while queued bytes stay over the budget
    quint64 m_messagesIn = 0;
    quint64 m_messagesOut = 0;
    quint64 m_bytesIn = 0;
    quint64 m_bytesOut = 0;
};

} // namespace wingman::network

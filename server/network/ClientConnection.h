#pragma once

#include "network/Session.h"

#include <QByteArrayList>
#include <QDateTime>
#include <QTimer>

class QWebSocket;

namespace wingman::network {

class MessageRouter;

// How much a connection may leave unsent. Over budgetBytes for longer than graceMs, or over
// twice budgetBytes at any moment, the connection is cut off as a slow consumer.
struct OutboundLimits {
    qint64 budgetBytes = 8LL * 1024 * 1024;
    qint64 graceMs = 2000;
};

// One client socket as a Session: its frames go to the MessageRouter, and what it is sent goes
// through an outbound queue that coalesces one event-loop turn into one frame. A client that does
// not read what it is sent is closed with 4002 "Slow Consumer" (see OutboundLimits) so its
// backlog cannot grow unbounded.
class ClientConnection : public Session
{
    Q_OBJECT
public:
    ClientConnection(QWebSocket *socket, quint64 id, MessageRouter &router,
        OutboundLimits limits = {}, QObject *parent = nullptr);
    ~ClientConnection() override;

    // Sends AUTH_REQUIRED; call once the connection is wired.
    void start();

    quint64 id() const override { return m_id; }
    QString remoteAddress() const override { return m_remoteAddress; }
    AuthState authState() const override { return m_authState; }
    const auth::Principal &principal() const override { return m_principal; }
    QWebSocket *socket() const override { return m_socket; }
    QDateTime connectedAt() const { return m_connectedAt; }
    quint64 messagesIn() const { return m_messagesIn; }
    quint64 messagesOut() const { return m_messagesOut; }
    quint64 bytesIn() const { return m_bytesIn; }
    quint64 bytesOut() const { return m_bytesOut; }
    // Bytes not yet handed to the kernel: this connection's outbox plus the socket's buffer.
    qint64 queuedBytes() const;
    bool isOpen() const;

    void sendEncoded(const QByteArray &encoded) override;
    void sendUrgentEncoded(const QByteArray &encoded) override;
    void close(protocol::CloseCode code, const QString &reason) override;
    void setAuthenticated(const auth::Principal &principal) override;
    void setAuthFailed() override;
    void abort();
    // Sends notice at once and reads no further message: frames that still arrive are discarded
    // unanswered (the client sends them again elsewhere), while what is already in progress
    // finishes and is answered until close().
    void stopReading(const QByteArray &notice);

Q_SIGNALS:
    void authStateChanged(wingman::auth::AuthState state);
    void disconnected();
    // The connection was over its outbound limits and is being cut off (close 4002).
    void slowConsumer(qint64 queuedBytes);

private:
    void handleFrame(const QByteArray &frame);
    void flush();
    void write(const QByteArray &frame);
    void setAuthState(AuthState state);
    void checkOutbound();
    void dropSlowConsumer(qint64 queued);

    QWebSocket *m_socket;
    quint64 m_id;
    MessageRouter &m_router;
    QString m_remoteAddress;
    QDateTime m_connectedAt;
    AuthState m_authState = AuthState::Pending;
    auth::Principal m_principal;
    QByteArrayList m_outbox;
    qint64 m_outboxBytes = 0;
    bool m_flushScheduled = false;
    bool m_closing = false;
    bool m_reading = true;
    OutboundLimits m_limits;
    QTimer m_overBudgetTimer; // runs while queued bytes stay over the budget
    quint64 m_messagesIn = 0;
    quint64 m_messagesOut = 0;
    quint64 m_bytesIn = 0;
    quint64 m_bytesOut = 0;
};

} // namespace wingman::network

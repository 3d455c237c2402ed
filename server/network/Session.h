#pragma once

#include "auth/AuthState.h"
#include "auth/Principal.h"
#include "protocol/Codes.h"
#include "protocol/Frame.h"

#include <QByteArray>
#include <QCborMap>
#include <QObject>
#include <QString>

class QWebSocket;

namespace wingman::network {

using auth::AuthState;
using auth::authStateName;

// One client as handlers, live queries and interceptors see it: who it is and how to answer it.
// ClientConnection is the real one; unit tests use one that records what it is sent. A QObject
// so that work finishing after the client left (a commit, an after-op hook) holds a QPointer.
class Session : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;

    virtual quint64 id() const = 0;
    virtual QString remoteAddress() const = 0;
    virtual AuthState authState() const = 0;
    virtual const auth::Principal &principal() const = 0;
    // The socket underneath, for interceptors that inspect it; null when there is none.
    virtual QWebSocket *socket() const { return nullptr; }

    // Queued and coalesced with the rest of what this event-loop turn sends.
    virtual void sendEncoded(const QByteArray &frame) = 0;
    // Flushes what is queued, then writes at once: auth results, errors, shutdown notices.
    virtual void sendUrgentEncoded(const QByteArray &frame) = 0;
    virtual void close(protocol::CloseCode code, const QString &reason) = 0;
    // AUTH's outcome. A failed session is closed by the caller.
    virtual void setAuthenticated(const auth::Principal &principal) = 0;
    virtual void setAuthFailed() = 0;

    bool isAuthenticated() const { return authState() == AuthState::Authenticated; }

    // A typed message: its field-by-field encoder where it has one, else its CBOR form.
    template <typename Message> static QByteArray encode(const Message &message)
    {
        if constexpr (requires { message.encode(); })
            return message.encode();
        else
            return protocol::Frame::encode(message.toCbor());
    }
    template <typename Message> void send(const Message &message) { sendEncoded(encode(message)); }
    template <typename Message> void sendUrgent(const Message &message)
    {
        sendUrgentEncoded(encode(message));
    }
    void send(const QCborMap &message) { sendEncoded(protocol::Frame::encode(message)); }
    void sendUrgent(const QCborMap &message)
    {
        sendUrgentEncoded(protocol::Frame::encode(message));
    }
    // ERROR {code, message}, urgent.
    void sendError(protocol::ErrorCode code, const QString &message);
    void sendError(int code, const QString &message);
};

} // namespace wingman::network

#pragma once

#include "auth/Principal.h"
#include "network/Session.h"
#include "protocol/MessageTypes.h"

#include <QPointer>
#include <QString>
#include <QWebSocket>

namespace wingman::ops {

// Who an interceptor is looking at. A snapshot: socket turns null once the connection is gone
// (onAfterOp runs after the commit, when the client may have left).
struct ConnectionContext {
    quint64 clientId = 0;
    QString remoteAddress;
    QPointer<QWebSocket> socket;
    network::AuthState authState = network::AuthState::Pending;
    auth::Principal principal;

    static ConnectionContext of(const network::Session &session);
};

// What onConnection decided.
struct ConnectionVerdict {
    bool accepted = true;
    QString reason; // logged when rejected; the client only sees 4000 "Connection Rejected"

    static ConnectionVerdict accept() { return {}; }
    static ConnectionVerdict reject(QString reason) { return { false, std::move(reason) }; }
};

// What onBeforeOp decided about one op.
struct OpVerdict {
    enum class Kind {
        Continue, // go on with the op as the interceptor left it (it may have modified it)
        Drop, // store nothing, send no error, acknowledge it as a success
        Reject, // OP_REJECTED with code and reason; nothing stored
    };
    Kind kind = Kind::Continue;
    int code = 0;
    QString reason;

    static OpVerdict proceed() { return {}; }
    static OpVerdict drop() { return { Kind::Drop, 0, {} }; }
    static OpVerdict reject(int code, QString reason)
    {
        return { Kind::Reject, code, std::move(reason) };
    }
};

// A hook into a node's connection and write paths, registered through
// ServerConfig::interceptors and run in registration order on the event-loop thread. The first
// rejecting onConnection, or the first onBeforeOp that drops or rejects, ends the chain.
// Failures are verdicts, never exceptions.
class Interceptor
{
public:
    virtual ~Interceptor() = default;

    // Before AUTH_REQUIRED is sent, so the context is unauthenticated. Rejecting closes the
    // socket with 4000 "Connection Rejected".
    virtual ConnectionVerdict onConnection(const ConnectionContext &)
    {
        return ConnectionVerdict::accept();
    }
    // For every connection onConnection saw, rejected ones included, so per-client state can go.
    virtual void onDisconnect(const ConnectionContext &) { }
    // After the permission check, before the merge; op may be modified in place (the result is
    // checked against the policy again).
    virtual OpVerdict onBeforeOp(protocol::ClientOp &, const ConnectionContext &)
    {
        return OpVerdict::proceed();
    }
    // After the op's batch is committed; only for ops that were applied (a losing LWW write
    // included), never for rejected or dropped ones. op is what was applied.
    virtual void onAfterOp(const protocol::ClientOp &, const ConnectionContext &) { }
};

} // namespace wingman::ops

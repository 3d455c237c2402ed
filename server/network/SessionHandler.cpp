#include "network/SessionHandler.h"

#include "auth/JwtVerifier.h"
#include "network/NetworkModule.h"
#include "network/Session.h"
#include "protocol/AuthMessages.h"

#include <QDateTime>

namespace wingman::network {

SessionHandler::SessionHandler(const auth::JwtVerifier &verifier)
    : m_verifier(verifier)
{ }

void SessionHandler::handle(Session &session, const protocol::AuthMessage &auth)
{
    if (session.isAuthenticated()) {
        // The TopGun client may repeat AUTH on one connection; answering keeps it moving.
        session.sendUrgent(protocol::AuthAckMessage {});
        return;
    }
    const auto result = m_verifier.verify(auth.token.toUtf8(), QDateTime::currentSecsSinceEpoch());
    if (!result.ok) {
        qCInfo(lcNetwork) << "client" << session.id() << "failed authentication:" << result.error;
        protocol::AuthFailMessage fail;
        fail.error = result.error;
        session.sendUrgent(fail);
        session.setAuthFailed();
        session.close(protocol::CloseCode::Unauthorized, QStringLiteral("Unauthorized"));
        return;
    }
    session.setAuthenticated(result.principal);
    session.sendUrgent(protocol::AuthAckMessage {});
}

void SessionHandler::handle(Session &session, const protocol::PingMessage &)
{
    protocol::PongMessage pong;
    pong.serverTime = QDateTime::currentMSecsSinceEpoch();
    session.sendUrgent(pong);
}

} // namespace wingman::network

#include "network/MessageRouter.h"

#include "auth/SecurityPolicy.h"
#include "network/NetworkModule.h"
#include "network/Session.h"
#include "protocol/Frame.h"

namespace wingman::network {

namespace {
const QString kInvalidMessage = QStringLiteral("Invalid message format");
}

MessageRouter::MessageRouter(const auth::SecurityPolicy &policy)
    : m_policy(policy)
{ }

bool MessageRouter::mayRead(Session &session, const QString &mapName) const
{
    if (m_policy.isAllowed(session.principal(), mapName, auth::SecurityPolicy::Action::Read))
        return true;
    session.sendError(
        protocol::ErrorCode::Forbidden, QStringLiteral("Access denied: READ on %1").arg(mapName));
    return false;
}

void MessageRouter::dispatch(Session &session, const QByteArray &frame)
{
    const bool authenticated = session.isAuthenticated();
    if (authenticated && m_opsHandler) {
        if (std::optional<protocol::DecodedOps> ops = m_opDecoder.decode(frame)) {
            ++m_routes[size_t(ops->type)].routed;
            m_opsHandler(session, *ops);
            return;
        }
    }

    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (decoded.status == protocol::FrameDecodeResult::Undecodable) {
        qCInfo(lcNetwork) << "client" << session.id()
                          << "sent an undecodable frame:" << decoded.error.reason;
        session.close(protocol::CloseCode::ProtocolError, QStringLiteral("Protocol Error"));
        return;
    }
    if (decoded.status == protocol::FrameDecodeResult::InvalidMessage) {
        session.sendError(protocol::ErrorCode::BadRequest, kInvalidMessage);
        return;
    }

    const std::optional<protocol::MessageType> type = protocol::messageTypeFromName(decoded.type);
    Route *route = type ? &m_routes[size_t(*type)] : nullptr;
    if (route && !route->decodeAndCall)
        route = nullptr;
    if (!authenticated && (!route || route->access != Access::Anonymous)) {
        session.close(protocol::CloseCode::Unauthorized, QStringLiteral("Auth required"));
        return;
    }
    if (!route) {
        session.sendError(protocol::ErrorCode::BadRequest, kInvalidMessage);
        return;
    }
    if (!route->decodeAndCall(session, decoded.message))
        session.sendError(protocol::ErrorCode::BadRequest, kInvalidMessage);
}

QMap<QString, quint64> MessageRouter::routedByType() const
{
    QMap<QString, quint64> result;
    for (size_t i = 0; i < kTypes; ++i) {
        if (m_routes[i].decodeAndCall)
            result.insert(protocol::messageTypeName(protocol::MessageType(i)), m_routes[i].routed);
    }
    return result;
}

} // namespace wingman::network

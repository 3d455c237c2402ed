#pragma once

#include "protocol/MessageTypes.h"
#include "protocol/OpBatchDecoder.h"

#include <QByteArray>
#include <QCborMap>
#include <QMap>

#include <array>
#include <functional>

namespace wingman::auth {
class SecurityPolicy;
}

namespace wingman::network {

class Session;

// Who may send a message: anyone on the socket, or only an authenticated session.
enum class Access { Anonymous, Authenticated };
// What the principal must be allowed on the message's map: nothing, READ (checked here), or a
// write permission per op (checked on the op path, which may see an op rewritten).
enum class Permission { None, Read, PerOp };

// Routes every client frame, in Redis's order of gates: decode the frame (undecodable: close
// 1002; not a typed map: ERROR 400), look the type up, check access (an unauthenticated session
// sending anything but an anonymous message is closed with 4001), decode the typed message
// (ERROR 400 "Invalid message format" when it does not), check READ where the table asks
// (ERROR 403), count it, call its handler. What is routed is declared once, in
// server/MessageTable.h; ServerFactory registers each row with on().
class MessageRouter
{
public:
    template <typename Message> using Handler = std::function<void(Session &, const Message &)>;

    explicit MessageRouter(const auth::SecurityPolicy &policy);

    // Registers type's decoder and handler. Message::fromCbor(const QCborMap &, DecodeError *)
    // decodes it; for protocol::DecodedOps the frame is first offered to OpBatchDecoder, which
    // skips building the generic form.
    template <typename Message>
    void on(
        protocol::MessageType type, Access access, Permission permission, Handler<Message> handler)
    {
        Route &route = m_routes[size_t(type)];
        route.access = access;
        route.decodeAndCall
            = [this, permission, handler, &route](Session &session, const QCborMap &message) {
                  std::optional<Message> decoded = Message::fromCbor(message, nullptr);
                  if (!decoded)
                      return false;
                  if constexpr (requires {
                                    {
                                        decoded->mapName
                                        } -> std::convertible_to<QString>;
                                }) {
                      if (permission == Permission::Read && !mayRead(session, decoded->mapName))
                          return true;
                  }
                  ++route.routed;
                  handler(session, *decoded);
                  return true;
              };
        if constexpr (std::is_same_v<Message, protocol::DecodedOps>)
            m_opsHandler = handler;
    }

    void dispatch(Session &session, const QByteArray &frame);

    // Messages handed to a handler so far, by wire type.
    QMap<QString, quint64> routedByType() const;

private:
    // False, with ERROR 403 sent, when the principal may not read mapName.
    bool mayRead(Session &session, const QString &mapName) const;

    struct Route {
        Access access = Access::Authenticated;
        std::function<bool(Session &, const QCborMap &)> decodeAndCall; // null: not routed
        quint64 routed = 0;
    };
    static constexpr size_t kTypes = size_t(protocol::MessageType::JournalReadResponse) + 1;

    const auth::SecurityPolicy &m_policy;
    std::array<Route, kTypes> m_routes;
    Handler<protocol::DecodedOps> m_opsHandler;
    protocol::OpBatchDecoder m_opDecoder;
};

} // namespace wingman::network

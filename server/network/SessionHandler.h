#pragma once

namespace wingman::auth {
class JwtVerifier;
}
namespace wingman::protocol {
struct AuthMessage;
struct PingMessage;
} // namespace wingman::protocol

namespace wingman::network {

class Session;

// The two messages a session may send before it is authenticated: AUTH (verify the token, then
// AUTH_ACK, or AUTH_FAIL and close 4001) and PING (PONG).
class SessionHandler
{
public:
    explicit SessionHandler(const auth::JwtVerifier &verifier);

    void handle(Session &session, const protocol::AuthMessage &auth);
    void handle(Session &session, const protocol::PingMessage &ping);

private:
    const auth::JwtVerifier &m_verifier;
};

} // namespace wingman::network

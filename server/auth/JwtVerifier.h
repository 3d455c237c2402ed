#pragma once

#include "auth/Principal.h"

#include <QByteArray>
#include <QString>
#include <memory>

namespace wingman::auth {

// Verifies client JWTs with one pinned algorithm: HS256 with a shared secret, or RS256 when the
// configured key is a PEM public key. Tokens using any other algorithm ("none", HS/RS confusion)
// are refused, and exp/nbf are enforced.
class JwtVerifier
{
public:
    enum class Algorithm { HS256, RS256 };

    struct Result {
        bool ok = false;
        Principal principal;
        QString error; // reason for AUTH_FAIL when !ok
    };

    // A key starting with "-----BEGIN" is a PEM public key (RS256); anything else is an HS256
    // secret. Returns nullptr and sets *error when the key cannot be used.
    static std::unique_ptr<JwtVerifier> create(const QByteArray &key, QString *error);

    ~JwtVerifier();

    Algorithm algorithm() const;
    // nowSecs: current Unix time in seconds (injectable for tests); leewaySecs tolerates skew.
    Result verify(const QByteArray &token, qint64 nowSecs, qint64 leewaySecs = 0) const;

private:
    struct Private;
    explicit JwtVerifier(std::unique_ptr<Private> d);
    std::unique_ptr<Private> d;
};

} // namespace wingman::auth

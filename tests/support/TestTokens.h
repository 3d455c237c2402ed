#pragma once

#include <QByteArray>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace wingman::test {

// Mints JWTs for tests without going through JwtVerifier, so the verifier can be tested against
// tokens it did not make: HS256 (HMAC-SHA256), RS256 (OpenSSL, PEM private key), and unsigned
// "alg: none" tokens. Claims are written as compact JSON in the order Qt gives them.
class TestTokens
{
public:
    static QByteArray hs256(const QByteArray &secret, const QJsonObject &claims);
    static QByteArray rs256(const QByteArray &privatePem, const QJsonObject &claims);
    static QByteArray withAlgNone(const QJsonObject &claims);
    // Header and claims as given, then the signature (already base64url) after the last dot.
    static QByteArray compose(
        const QJsonObject &header, const QJsonObject &claims, const QByteArray &signature = {});

    // An HS256 token with sub, roles, iat = now and exp = now + expiresInSecs.
    static QByteArray userToken(const QByteArray &secret, const QString &userId = "user-1",
        const QStringList &roles = { "USER" }, qint64 expiresInSecs = 3600);

    static QByteArray base64Url(const QByteArray &data);

    // Test-only RSA keys in WINGMAN_TEST_KEYS_DIR (resources/test-keys).
    static QString privateKeyPath(); // rs256-private.pem
    static QString publicKeyPath(); // rs256-public.pem, the pair of privateKeyPath()
    static QString otherPublicKeyPath(); // rs256-other-public.pem, unrelated to the pair
    // File contents; empty (with a warning) when the file cannot be read.
    static QByteArray readKey(const QString &path);
};

} // namespace wingman::test

#include "TestTokens.h"
#include "auth/JwtVerifier.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QMessageAuthenticationCode>
#include <QTest>

using namespace wingman;
using namespace wingman::auth;
using namespace wingman::test;

namespace {

constexpr qint64 kNow = 1'700'000'000;
const QByteArray kSecret = "verifier-test-secret";

// Valid claims for kNow, with extra ones set and the dropped ones removed.
QJsonObject claims(const QJsonObject &extra = {}, const QStringList &drop = {})
{
    QJsonObject c { { "sub", "user-7" }, { "iat", kNow }, { "exp", kNow + 3600 } };
    for (auto it = extra.begin(); it != extra.end(); ++it)
        c.insert(it.key(), it.value());
    for (const QString &claim : drop)
        c.remove(claim);
    return c;
}

QByteArray hs256WithHeader(const QJsonObject &header)
{
    const QByteArray input = TestTokens::compose(header, claims()).chopped(1);
    return input + '.'
        + TestTokens::base64Url(
            QMessageAuthenticationCode::hash(input, kSecret, QCryptographicHash::Sha256));
}

QByteArray privatePem()
{
    return TestTokens::readKey(TestTokens::privateKeyPath());
}

QByteArray publicPem()
{
    return TestTokens::readKey(TestTokens::publicKeyPath());
}

// Names the verifier key of a data row: an HS256 secret or one of the test public keys.
QByteArray verifierKey(const QString &name)
{
    if (name == u"hs")
        return kSecret;
    if (name == u"rs")
        return publicPem();
    return TestTokens::readKey(TestTokens::otherPublicKeyPath());
}

QByteArray replaceSegment(const QByteArray &token, int index, const QByteArray &segment)
{
    QList<QByteArray> parts = token.split('.');
    parts[index] = segment;
    return parts.join('.');
}

const char *kEcPublicKey = "-----BEGIN PUBLIC KEY-----\n"
                           "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8poUP+oNyWKo8mlxGM8S3BcWZazp\n"
                           "pEePwUatapbaizyyhrUsK7xDUVk+tn35pAyFRwcD6/OxuFSV0DugpLqkeA==\n"
                           "-----END PUBLIC KEY-----\n";

} // namespace

class tst_JwtVerifier : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void testKeysExist()
    {
        QVERIFY(privatePem().startsWith("-----BEGIN PRIVATE KEY-----"));
        QVERIFY(publicPem().startsWith("-----BEGIN PUBLIC KEY-----"));
        QVERIFY(verifierKey("rs-other").startsWith("-----BEGIN PUBLIC KEY-----"));
        QVERIFY(verifierKey("rs-other") != publicPem());
    }

    void create_data()
    {
        QTest::addColumn<QByteArray>("key");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<int>("algorithm");
        QTest::addColumn<QString>("errorPart");

        const int hs = int(JwtVerifier::Algorithm::HS256);
        const int rs = int(JwtVerifier::Algorithm::RS256);
        QTest::newRow("secret") << QByteArray("s3cret") << true << hs << QString();
        QTest::newRow("secret with spaces") << QByteArray(" s3cret ") << true << hs << QString();
        QTest::newRow("public pem") << publicPem() << true << rs << QString();
        QTest::newRow("public pem, leading newline")
            << ("\n" + publicPem()) << true << rs << QString();
        QTest::newRow("empty") << QByteArray() << false << hs << "empty";
        QTest::newRow("broken pem")
            << QByteArray("-----BEGIN PUBLIC KEY-----\nAAAA\n") << false << rs << "PEM public key";
        QTest::newRow("private pem") << privatePem() << false << rs << "PEM public key";
        QTest::newRow("ec public key") << QByteArray(kEcPublicKey) << false << rs << "not an RSA";
    }

    void create()
    {
        QFETCH(QByteArray, key);
        QFETCH(bool, ok);
        QFETCH(int, algorithm);
        QFETCH(QString, errorPart);

        QString error;
        const auto verifier = JwtVerifier::create(key, &error);
        QCOMPARE(bool(verifier), ok);
        if (ok) {
            QVERIFY(error.isEmpty());
            QCOMPARE(int(verifier->algorithm()), algorithm);
        } else {
            QVERIFY2(error.contains(errorPart), qPrintable(error));
        }
    }

    void verify_data()
    {
        QTest::addColumn<QString>("keyName");
        QTest::addColumn<QByteArray>("token");
        QTest::addColumn<qint64>("leeway");
        QTest::addColumn<QString>("error"); // empty: the token is accepted
        QTest::addColumn<QString>("userId");
        QTest::addColumn<QStringList>("roles");

        const QStringList user { "USER" };
        const QJsonObject editor { { "roles", QJsonArray { "USER", "EDITOR" } } };
        const QString badSig = QStringLiteral("Invalid token signature");
        const QString malformed = QStringLiteral("Malformed token: expected 3 segments");
        const QString badBase64 = QStringLiteral("Malformed token: bad base64url");

        // Accepted.
        QTest::newRow("good HS256")
            << "hs" << TestTokens::hs256(kSecret, claims(editor)) << qint64(0) << QString()
            << "user-7" << QStringList { "USER", "EDITOR" };
        QTest::newRow("good RS256")
            << "rs" << TestTokens::rs256(privatePem(), claims(editor)) << qint64(0) << QString()
            << "user-7" << QStringList { "USER", "EDITOR" };
        QTest::newRow("no exp") << "hs" << TestTokens::hs256(kSecret, claims({}, { "exp" }))
                                << qint64(0) << QString() << "user-7" << user;
        QTest::newRow("fractional exp")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "exp", kNow + 0.5 } })) << qint64(0)
            << QString() << "user-7" << user;
        QTest::newRow("nbf now") << "hs" << TestTokens::hs256(kSecret, claims({ { "nbf", kNow } }))
                                 << qint64(0) << QString() << "user-7" << user;
        QTest::newRow("extra header field")
            << "hs" << hs256WithHeader({ { "alg", "HS256" }, { "typ", "JWT" }, { "kid", "k1" } })
            << qint64(0) << QString() << "user-7" << user;

        QTest::newRow("typ jwt, lower case")
            << "hs" << hs256WithHeader({ { "alg", "HS256" }, { "typ", "jwt" } }) << qint64(0)
            << QString() << "user-7" << user;
        QTest::newRow("no typ") << "hs" << hs256WithHeader({ { "alg", "HS256" } }) << qint64(0)
                                << QString() << "user-7" << user;

        // Signatures and algorithms.
        QTest::newRow("wrong secret") << "hs" << TestTokens::hs256("other-secret", claims())
                                      << qint64(0) << badSig << QString() << QStringList();
        QTest::newRow("wrong RS key") << "rs-other" << TestTokens::rs256(privatePem(), claims())
                                      << qint64(0) << badSig << QString() << QStringList();
        QTest::newRow("tampered payload")
            << "hs"
            << replaceSegment(TestTokens::hs256(kSecret, claims()), 1,
                   TestTokens::base64Url(R"({"sub":"admin","roles":["ADMIN"]})"))
            << qint64(0) << badSig << QString() << QStringList();
        QTest::newRow("signature with an extra char")
            << "hs" << (TestTokens::hs256(kSecret, claims()) + "A") << qint64(0) << badSig
            << QString() << QStringList();
        QTest::newRow("signature stripped")
            << "hs" << replaceSegment(TestTokens::hs256(kSecret, claims()), 2, {}) << qint64(0)
            << badSig << QString() << QStringList();
        QTest::newRow("alg none") << "hs" << TestTokens::withAlgNone(claims()) << qint64(0)
                                  << "Token algorithm not allowed: none" << QString()
                                  << QStringList();
        QTest::newRow("alg none, RS verifier")
            << "rs" << TestTokens::withAlgNone(claims()) << qint64(0)
            << "Token algorithm not allowed: none" << QString() << QStringList();
        QTest::newRow("alg none with a signature")
            << "hs"
            << (TestTokens::withAlgNone(claims())
                   + TestTokens::base64Url(
                       QMessageAuthenticationCode::hash("x", kSecret, QCryptographicHash::Sha256)))
            << qint64(0) << "Token algorithm not allowed: none" << QString() << QStringList();
        QTest::newRow("HS/RS confusion")
            << "rs" << TestTokens::hs256(publicPem(), claims()) << qint64(0)
            << "Token algorithm not allowed: HS256" << QString() << QStringList();
        QTest::newRow("HS/RS confusion, trimmed PEM")
            << "rs" << TestTokens::hs256(publicPem().trimmed(), claims()) << qint64(0)
            << "Token algorithm not allowed: HS256" << QString() << QStringList();
        QTest::newRow("RS token, HS verifier")
            << "hs" << TestTokens::rs256(privatePem(), claims()) << qint64(0)
            << "Token algorithm not allowed: RS256" << QString() << QStringList();
        QTest::newRow("HS512") << "hs"
                               << TestTokens::compose({ { "alg", "HS512" } }, claims(), "c2ln")
                               << qint64(0) << "Token algorithm not allowed: HS512" << QString()
                               << QStringList();
        QTest::newRow("typ not JWT")
            << "hs" << hs256WithHeader({ { "alg", "HS256" }, { "typ", "at+jwt" } }) << qint64(0)
            << "Unsupported token type" << QString() << QStringList();
        QTest::newRow("no alg") << "hs"
                                << TestTokens::compose({ { "typ", "JWT" } }, claims(), "c2ln")
                                << qint64(0) << "Token algorithm missing" << QString()
                                << QStringList();

        // Time.
        QTest::newRow("expired") << "hs"
                                 << TestTokens::hs256(kSecret, claims({ { "exp", kNow - 60 } }))
                                 << qint64(0) << "Token expired" << QString() << QStringList();
        QTest::newRow("exp is now")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "exp", kNow } })) << qint64(0)
            << "Token expired" << QString() << QStringList();
        QTest::newRow("nbf in the future")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "nbf", kNow + 60 } })) << qint64(0)
            << "Token not yet valid" << QString() << QStringList();
        QTest::newRow("leeway covers exp")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "exp", kNow - 30 } })) << qint64(60)
            << QString() << "user-7" << user;
        QTest::newRow("leeway covers nbf")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "nbf", kNow + 30 } })) << qint64(60)
            << QString() << "user-7" << user;
        QTest::newRow("beyond leeway")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "exp", kNow - 90 } })) << qint64(60)
            << "Token expired" << QString() << QStringList();
        QTest::newRow("exp not a number")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "exp", "tomorrow" } })) << qint64(0)
            << "Invalid exp claim" << QString() << QStringList();
        QTest::newRow("nbf not a number")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "nbf", true } })) << qint64(0)
            << "Invalid nbf claim" << QString() << QStringList();

        // Shape.
        QTest::newRow("empty") << "hs" << QByteArray() << qint64(0) << "Missing token" << QString()
                               << QStringList();
        QTest::newRow("garbage") << "hs" << QByteArray("garbage") << qint64(0) << malformed
                                 << QString() << QStringList();
        QTest::newRow("2 segments")
            << "hs" << TestTokens::hs256(kSecret, claims()).split('.').mid(0, 2).join('.')
            << qint64(0) << malformed << QString() << QStringList();
        QTest::newRow("4 segments") << "hs" << (TestTokens::hs256(kSecret, claims()) + ".x")
                                    << qint64(0) << malformed << QString() << QStringList();
        QTest::newRow("bad base64 header")
            << "hs" << replaceSegment(TestTokens::hs256(kSecret, claims()), 0, "eyJ!bGci")
            << qint64(0) << badBase64 << QString() << QStringList();
        QTest::newRow("padded base64 payload")
            << "hs" << replaceSegment(TestTokens::hs256(kSecret, claims()), 1, "e30=") << qint64(0)
            << badBase64 << QString() << QStringList();
        QTest::newRow("bad base64 signature")
            << "hs" << replaceSegment(TestTokens::hs256(kSecret, claims()), 2, "ab+/") << qint64(0)
            << badBase64 << QString() << QStringList();
        QTest::newRow("impossible base64 length")
            << "hs" << replaceSegment(TestTokens::hs256(kSecret, claims()), 2, "abcde") << qint64(0)
            << badBase64 << QString() << QStringList();
        QTest::newRow("header not JSON")
            << "hs"
            << replaceSegment(
                   TestTokens::hs256(kSecret, claims()), 0, TestTokens::base64Url("{alg:HS256"))
            << qint64(0) << "Malformed token: bad header JSON" << QString() << QStringList();
        QTest::newRow("payload not an object")
            << "hs"
            << replaceSegment(
                   TestTokens::hs256(kSecret, claims()), 1, TestTokens::base64Url("[1,2]"))
            << qint64(0) << "Malformed token: bad payload JSON" << QString() << QStringList();
        QTest::newRow("too large") << "hs" << QByteArray(100 * 1024, 'a') << qint64(0)
                                   << "Token too large" << QString() << QStringList();

        // Claims.
        QTest::newRow("roles default") << "hs" << TestTokens::hs256(kSecret, claims()) << qint64(0)
                                       << QString() << "user-7" << user;
        QTest::newRow("roles null")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "roles", QJsonValue::Null } }))
            << qint64(0) << QString() << "user-7" << user;
        QTest::newRow("roles array")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "roles", QJsonArray { "ADMIN" } } }))
            << qint64(0) << QString() << "user-7" << QStringList { "ADMIN" };
        QTest::newRow("roles empty array")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "roles", QJsonArray {} } }))
            << qint64(0) << QString() << "user-7" << QStringList();
        QTest::newRow("roles a string")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "roles", "ADMIN" } })) << qint64(0)
            << "Invalid roles claim" << QString() << QStringList();
        QTest::newRow("roles with a number")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "roles", QJsonArray { "USER", 1 } } }))
            << qint64(0) << "Invalid roles claim" << QString() << QStringList();
        QTest::newRow("sub only") << "hs"
                                  << TestTokens::hs256(kSecret, claims({ { "sub", "s-1" } }))
                                  << qint64(0) << QString() << "s-1" << user;
        QTest::newRow("userId only")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "userId", "u-1" } }, { "sub" }))
            << qint64(0) << QString() << "u-1" << user;
        QTest::newRow("userId wins over sub")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "sub", "s-1" }, { "userId", "u-1" } }))
            << qint64(0) << QString() << "u-1" << user;
        QTest::newRow("no subject")
            << "hs" << TestTokens::hs256(kSecret, claims({}, { "sub" })) << qint64(0)
            << "Token has no subject (sub)" << QString() << QStringList();
        QTest::newRow("sub a number")
            << "hs" << TestTokens::hs256(kSecret, claims({ { "sub", 42 } })) << qint64(0)
            << "Invalid sub claim" << QString() << QStringList();
    }

    void verify()
    {
        QFETCH(QString, keyName);
        QFETCH(QByteArray, token);
        QFETCH(qint64, leeway);
        QFETCH(QString, error);
        QFETCH(QString, userId);
        QFETCH(QStringList, roles);

        QString createError;
        const auto verifier = JwtVerifier::create(verifierKey(keyName), &createError);
        QVERIFY2(verifier, qPrintable(createError));
        const JwtVerifier::Result result = verifier->verify(token, kNow, leeway);
        QCOMPARE(result.error, error);
        QCOMPARE(result.ok, error.isEmpty());
        if (result.ok) {
            QCOMPARE(result.principal.userId, userId);
            QCOMPARE(result.principal.roles, roles);
        }
    }

    void userTokenIsAcceptedNow()
    {
        const auto verifier = JwtVerifier::create(kSecret, nullptr);
        QVERIFY(verifier);
        const QByteArray token = TestTokens::userToken(kSecret, "u-9", { "USER", "ADMIN" });
        const auto result = verifier->verify(token, QDateTime::currentSecsSinceEpoch());
        QVERIFY2(result.ok, qPrintable(result.error));
        QCOMPARE(result.principal.userId, QStringLiteral("u-9"));
        QCOMPARE(result.principal.roles, (QStringList { "USER", "ADMIN" }));

        const QByteArray expired = TestTokens::userToken(kSecret, "u-9", { "USER" }, -5);
        QCOMPARE(verifier->verify(expired, QDateTime::currentSecsSinceEpoch()).error,
            QStringLiteral("Token expired"));
    }
};

QTEST_GUILESS_MAIN(tst_JwtVerifier)
#include "tst_jwtverifier.moc"

#include "TestTokens.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QMessageAuthenticationCode>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

namespace wingman::test {

namespace {

QByteArray signingInput(const QJsonObject &header, const QJsonObject &claims)
{
    return TestTokens::base64Url(QJsonDocument(header).toJson(QJsonDocument::Compact)) + '.'
        + TestTokens::base64Url(QJsonDocument(claims).toJson(QJsonDocument::Compact));
}

QJsonObject header(const char *alg)
{
    return QJsonObject { { "alg", alg }, { "typ", "JWT" } };
}

QByteArray rsaSha256(const QByteArray &privatePem, const QByteArray &data)
{
    const std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(privatePem.constData(), int(privatePem.size())), &BIO_free);
    const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr,
        &EVP_PKEY_free);
    const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
        EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!key || !ctx) {
        qWarning("TestTokens: cannot read the RSA private key");
        return {};
    }
    size_t length = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1
        || EVP_DigestSignUpdate(ctx.get(), data.constData(), size_t(data.size())) != 1
        || EVP_DigestSignFinal(ctx.get(), nullptr, &length) != 1) {
        qWarning("TestTokens: RS256 signing failed");
        return {};
    }
    QByteArray signature(qsizetype(length), Qt::Uninitialized);
    if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char *>(signature.data()), &length)
        != 1) {
        qWarning("TestTokens: RS256 signing failed");
        return {};
    }
    signature.truncate(qsizetype(length));
    return signature;
}

} // namespace

QByteArray TestTokens::base64Url(const QByteArray &data)
{
    return data.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray TestTokens::compose(
    const QJsonObject &header, const QJsonObject &claims, const QByteArray &signature)
{
    return signingInput(header, claims) + '.' + signature;
}

QByteArray TestTokens::hs256(const QByteArray &secret, const QJsonObject &claims)
{
    const QByteArray input = signingInput(header("HS256"), claims);
    return input + '.'
        + base64Url(QMessageAuthenticationCode::hash(input, secret, QCryptographicHash::Sha256));
}

QByteArray TestTokens::rs256(const QByteArray &privatePem, const QJsonObject &claims)
{
    const QByteArray input = signingInput(header("RS256"), claims);
    return input + '.' + base64Url(rsaSha256(privatePem, input));
}

QByteArray TestTokens::withAlgNone(const QJsonObject &claims)
{
    return compose(QJsonObject { { "alg", "none" }, { "typ", "JWT" } }, claims);
}

QByteArray TestTokens::userToken(
    const QByteArray &secret, const QString &userId, const QStringList &roles, qint64 expiresInSecs)
{
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    return hs256(secret,
        QJsonObject { { "sub", userId }, { "roles", QJsonArray::fromStringList(roles) },
            { "iat", now }, { "exp", now + expiresInSecs } });
}

QString TestTokens::privateKeyPath()
{
    return QStringLiteral(WINGMAN_TEST_KEYS_DIR "/rs256-private.pem");
}

QString TestTokens::publicKeyPath()
{
    return QStringLiteral(WINGMAN_TEST_KEYS_DIR "/rs256-public.pem");
}

QString TestTokens::otherPublicKeyPath()
{
    return QStringLiteral(WINGMAN_TEST_KEYS_DIR "/rs256-other-public.pem");
}

QByteArray TestTokens::readKey(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        qWarning("TestTokens: cannot read %s", qPrintable(path));
        return {};
    }
    return file.readAll();
}

} // namespace wingman::test

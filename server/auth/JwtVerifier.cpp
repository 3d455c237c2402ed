#include "auth/JwtVerifier.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

namespace wingman::auth {

namespace {

// Far above any real token (a few hundred bytes to a few KiB); refuses absurd input cheaply.
constexpr qsizetype kMaxTokenBytes = 64 * 1024;

struct JwtDeleter {
    void operator()(jwt_t *jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct BioDeleter {
    void operator()(BIO *bio) const { BIO_free(bio); }
};
struct PkeyDeleter {
    void operator()(EVP_PKEY *key) const { EVP_PKEY_free(key); }
};

QString isRsaPublicKey(const QByteArray &pem)
{
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    if (!bio)
        return QStringLiteral("out of memory reading the PEM key");
    // The same reader libjwt uses for RS256, so a key accepted here is one it can verify with.
    std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
        PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key)
        return QStringLiteral(
            "not a readable PEM public key (expected -----BEGIN PUBLIC KEY-----)");
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
        return QStringLiteral("the PEM public key is not an RSA key (RS256 needs RSA)");
    return {};
}

// Strict base64url (RFC 7515: no padding, no other characters), unlike libjwt's lenient decoder.
std::optional<QByteArray> decodeSegment(QByteArrayView segment)
{
    for (const char c : segment) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_';
        if (!ok)
            return std::nullopt;
    }
    if (segment.size() % 4 == 1)
        return std::nullopt;
    const auto decoded = QByteArray::fromBase64Encoding(segment.toByteArray(),
        QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals
            | QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        return std::nullopt;
    return decoded.decoded;
}

std::optional<QJsonObject> parseObject(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        return std::nullopt;
    return document.object();
}

JwtVerifier::Result failure(const QString &error)
{
    JwtVerifier::Result result;
    result.error = error;
    return result;
}

const char *algorithmName(JwtVerifier::Algorithm algorithm)
{
    return algorithm == JwtVerifier::Algorithm::RS256 ? "RS256" : "HS256";
}

jwt_alg_t libjwtAlgorithm(JwtVerifier::Algorithm algorithm)
{
    return algorithm == JwtVerifier::Algorithm::RS256 ? JWT_ALG_RS256 : JWT_ALG_HS256;
}

// Absent is fine (nullopt); present but not a number is an error.
bool readTime(const QJsonObject &claims, const char *name, std::optional<double> *out)
{
    const QJsonValue value = claims.value(QLatin1String(name));
    if (value.isUndefined() || value.isNull())
        return true;
    if (!value.isDouble())
        return false;
    *out = value.toDouble();
    return true;
}

} // namespace

struct JwtVerifier::Private {
    Algorithm algorithm = Algorithm::HS256;
    QByteArray key;
};

JwtVerifier::JwtVerifier(std::unique_ptr<Private> d)
    : d(std::move(d))
{ }

JwtVerifier::~JwtVerifier() = default;

std::unique_ptr<JwtVerifier> JwtVerifier::create(const QByteArray &key, QString *error)
{
    const auto fail = [error](const QString &reason) {
        if (error)
            *error = reason;
        return nullptr;
    };
    if (key.isEmpty())
        return fail(QStringLiteral("the key is empty"));

    auto d = std::make_unique<Private>();
    const QByteArray trimmed = key.trimmed();
    if (trimmed.startsWith("-----BEGIN")) {
        const QString keyError = isRsaPublicKey(trimmed);
        if (!keyError.isEmpty())
            return fail(keyError);
        d->algorithm = Algorithm::RS256;
        d->key = trimmed;
    } else {
        d->algorithm = Algorithm::HS256;
        d->key = key;
    }
    return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(d)));
}

JwtVerifier::Algorithm JwtVerifier::algorithm() const
{
    return d->algorithm;
}

JwtVerifier::Result JwtVerifier::verify(
    const QByteArray &token, qint64 nowSecs, qint64 leewaySecs) const
{
    if (token.isEmpty())
        return failure(QStringLiteral("Missing token"));
    if (token.size() > kMaxTokenBytes)
        return failure(QStringLiteral("Token too large"));

    const QList<QByteArray> segments = token.split('.');
    if (segments.size() != 3)
        return failure(QStringLiteral("Malformed token: expected 3 segments"));
    const auto headerJson = decodeSegment(segments[0]);
    const auto payloadJson = decodeSegment(segments[1]);
    if (!headerJson || !payloadJson || !decodeSegment(segments[2]))
        return failure(QStringLiteral("Malformed token: bad base64url"));
    const auto header = parseObject(*headerJson);
    if (!header)
        return failure(QStringLiteral("Malformed token: bad header JSON"));
    if (!parseObject(*payloadJson))
        return failure(QStringLiteral("Malformed token: bad payload JSON"));

    // Pinned before any cryptography: "none" and HS/RS confusion never reach libjwt.
    const QString alg = header->value(QLatin1String("alg")).toString();
    if (alg != QLatin1String(algorithmName(d->algorithm))) {
        return failure(alg.isEmpty()
                ? QStringLiteral("Token algorithm missing")
                : QStringLiteral("Token algorithm not allowed: %1").arg(alg.left(16)));
    }
    // libjwt refuses any other "typ" without saying why; say it here.
    const QJsonValue typ = header->value(QLatin1String("typ"));
    if (!typ.isUndefined() && typ.toString().compare(u"JWT", Qt::CaseInsensitive) != 0)
        return failure(QStringLiteral("Unsupported token type"));
    if (segments[2].isEmpty())
        return failure(QStringLiteral("Invalid token signature"));

    jwt_t *raw = nullptr;
    const int rc = jwt_decode(&raw, token.constData(),
        reinterpret_cast<const unsigned char *>(d->key.constData()), int(d->key.size()));
    JwtPtr jwt(raw);
    if (rc != 0 || !jwt)
        return failure(QStringLiteral("Invalid token signature"));
    // libjwt 1.10 accepts whatever algorithm the token names; insist on ours again.
    if (const jwt_alg_t used = jwt_get_alg(jwt.get()); used != libjwtAlgorithm(d->algorithm)) {
        const char *name = jwt_alg_str(used);
        return failure(QStringLiteral("Token algorithm not allowed: %1")
                           .arg(QLatin1String(name ? name : "unknown")));
    }

    // The claims as libjwt verified them.
    char *grants = jwt_get_grants_json(jwt.get(), nullptr);
    const QByteArray grantsJson(grants ? grants : "");
    std::free(grants);
    const auto claims = parseObject(grantsJson);
    if (!claims)
        return failure(QStringLiteral("Malformed token: bad payload JSON"));

    std::optional<double> exp;
    std::optional<double> nbf;
    if (!readTime(*claims, "exp", &exp))
        return failure(QStringLiteral("Invalid exp claim"));
    if (!readTime(*claims, "nbf", &nbf))
        return failure(QStringLiteral("Invalid nbf claim"));
    const double now = double(nowSecs);
    const double leeway = double(std::max<qint64>(0, leewaySecs));
    if (exp && now - leeway >= *exp)
        return failure(QStringLiteral("Token expired"));
    if (nbf && now + leeway < *nbf)
        return failure(QStringLiteral("Token not yet valid"));

    // TopGun reads userId first and falls back to sub.
    Principal principal;
    for (const char *name : { "userId", "sub" }) {
        const QJsonValue id = claims->value(QLatin1String(name));
        if (id.isUndefined() || id.isNull())
            continue;
        if (!id.isString())
            return failure(QStringLiteral("Invalid %1 claim").arg(QLatin1String(name)));
        if (principal.userId.isEmpty())
            principal.userId = id.toString();
    }
    if (principal.userId.isEmpty())
        return failure(QStringLiteral("Token has no subject (sub)"));

    const QJsonValue roles = claims->value(QLatin1String("roles"));
    if (roles.isUndefined() || roles.isNull()) {
        principal.roles = { QStringLiteral("USER") };
    } else if (roles.isArray()) {
        for (const QJsonValue role : roles.toArray()) {
            if (!role.isString())
                return failure(QStringLiteral("Invalid roles claim"));
            principal.roles.append(role.toString());
        }
    } else {
        return failure(QStringLiteral("Invalid roles claim"));
    }

    Result result;
    result.ok = true;
    result.principal = std::move(principal);
    return result;
}

} // namespace wingman::auth

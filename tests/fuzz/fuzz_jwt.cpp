// An AUTH token as network::SessionHandler verifies it: JwtVerifier::verify with an HS256 secret,
// and with the RS256 public key of resources/test-keys. Random bytes rarely carry a valid
// signature, so the first input byte also selects a mode where the target signs the rest with
// the HS256 secret, reaching the claim checks behind the signature:
//   0: the rest is a token for the HS256 verifier
//   1: the rest is a token for the RS256 verifier
//   2: the rest is `header JSON \0 payload JSON` (or just the payload), signed with HS256
#include "FuzzSupport.h"

#include "auth/JwtVerifier.h"

#include <QFile>
#include <QMessageAuthenticationCode>

#include <memory>

using namespace wingman;

namespace {

const QByteArray kSecret = QByteArrayLiteral("wingman-fuzz-hs256-secret");
constexpr qint64 kNowSecs = 1'800'000'000;

std::unique_ptr<auth::JwtVerifier> hs256;
std::unique_ptr<auth::JwtVerifier> rs256;

QByteArray segment(const QByteArray &bytes)
{
    return bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray signHs256(const QByteArray &header, const QByteArray &payload)
{
    const QByteArray signingInput = segment(header) + '.' + segment(payload);
    return signingInput + '.'
        + segment(
            QMessageAuthenticationCode::hash(signingInput, kSecret, QCryptographicHash::Sha256));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::silenceLogging();
    QString error;
    hs256 = auth::JwtVerifier::create(kSecret, &error);
    fuzz::require(hs256 != nullptr, "the HS256 verifier is created");
    QFile pem(QStringLiteral(WINGMAN_RESOURCES_DIR "/test-keys/rs256-public.pem"));
    if (pem.open(QIODevice::ReadOnly)) {
        rs256 = auth::JwtVerifier::create(pem.readAll(), &error);
        fuzz::require(rs256 != nullptr, "the RS256 verifier is created");
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const QByteArray rest(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));
    switch (data[0] % 3) {
    case 0:
        hs256->verify(rest, kNowSecs, 30);
        break;
    case 1:
        if (rs256)
            rs256->verify(rest, kNowSecs, 30);
        break;
    default: {
        const qsizetype split = rest.indexOf('\0');
        const QByteArray header
            = split < 0 ? QByteArrayLiteral(R"({"alg":"HS256","typ":"JWT"})") : rest.left(split);
        const QByteArray payload = split < 0 ? rest : rest.mid(split + 1);
        const auth::JwtVerifier::Result result
            = hs256->verify(signHs256(header, payload), kNowSecs);
        fuzz::require(result.ok || !result.error.isEmpty(), "a refused token says why");
        break;
    }
    }
    return 0;
}

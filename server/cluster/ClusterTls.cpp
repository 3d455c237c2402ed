#include "cluster/ClusterTls.h"

#include <QFile>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslSocket>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace wingman::cluster {

namespace {

// OpenSSL's own check, since Qt has no way to ask whether a private key is a certificate's.
bool keyMatches(const QSslCertificate &certificate, const QByteArray &keyPem)
{
    const QByteArray certificatePem = certificate.toPem();
    const std::unique_ptr<BIO, decltype(&BIO_free)> certificateBio(
        BIO_new_mem_buf(certificatePem.constData(), int(certificatePem.size())), &BIO_free);
    const std::unique_ptr<BIO, decltype(&BIO_free)> keyBio(
        BIO_new_mem_buf(keyPem.constData(), int(keyPem.size())), &BIO_free);
    const std::unique_ptr<X509, decltype(&X509_free)> x509(
        PEM_read_bio_X509(certificateBio.get(), nullptr, nullptr, nullptr), &X509_free);
    const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    return x509 && key && X509_check_private_key(x509.get(), key.get()) == 1;
}

} // namespace

std::optional<QSslConfiguration> tlsIdentity(const QString &certPath, const QString &keyPath,
    const QString &certOption, const QString &keyOption, QString *error)
{
    const QList<QSslCertificate> certificates = QSslCertificate::fromPath(certPath);
    QFile keyFile(keyPath);
    QSslKey key;
    QByteArray pem;
    if (keyFile.open(QIODevice::ReadOnly)) {
        pem = keyFile.readAll();
        for (QSsl::KeyAlgorithm algorithm : { QSsl::Rsa, QSsl::Ec, QSsl::Dsa }) {
            key = QSslKey(pem, algorithm);
            if (!key.isNull())
                break;
        }
    }
    if (certificates.isEmpty()) {
        *error = QStringLiteral("invalid value for %1: '%2' (no PEM certificate)")
                     .arg(certOption, certPath);
    } else if (key.isNull()) {
        *error = QStringLiteral("invalid value for %1: '%2' (no PEM private key)")
                     .arg(keyOption, keyPath);
    } else if (!keyMatches(certificates.first(), pem)) {
        *error = QStringLiteral("invalid value for %1: '%2' (not the key of %3)")
                     .arg(keyOption, keyPath, certPath);
    } else if (!QSslSocket::supportsSsl()) {
        *error = QStringLiteral("TLS: this build has no TLS backend");
    }
    if (!error->isEmpty())
        return std::nullopt;
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificateChain(certificates);
    tls.setPrivateKey(key);
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    return tls;
}

std::optional<QSslConfiguration> clusterTls(
    const QString &certPath, const QString &keyPath, const QString &caPath, QString *error)
{
    std::optional<QSslConfiguration> tls = tlsIdentity(certPath, keyPath,
        QStringLiteral("clusterTlsCert"), QStringLiteral("clusterTlsKey"), error);
    if (!tls)
        return std::nullopt;
    const QList<QSslCertificate> authorities = QSslCertificate::fromPath(caPath);
    if (authorities.isEmpty()) {
        *error = QStringLiteral("invalid value for clusterTlsCa: '%1' (no PEM certificate)")
                     .arg(caPath);
        return std::nullopt;
    }
    tls->setCaCertificates(authorities);
    tls->setPeerVerifyMode(QSslSocket::VerifyPeer);
    return tls;
}

} // namespace wingman::cluster

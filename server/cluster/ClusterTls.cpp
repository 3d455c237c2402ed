#include "cluster/ClusterTls.h"

#include <QFile>
#include <QSslCertificate>
#include <QSslKey>
#include <QSslSocket>

namespace wingman::cluster {

std::optional<QSslConfiguration> clusterTls(
    const QString &certPath, const QString &keyPath, const QString &caPath, QString *error)
{
    const QList<QSslCertificate> certificates = QSslCertificate::fromPath(certPath);
    const QList<QSslCertificate> authorities = QSslCertificate::fromPath(caPath);
    QFile keyFile(keyPath);
    QSslKey key;
    if (keyFile.open(QIODevice::ReadOnly)) {
        const QByteArray pem = keyFile.readAll();
        for (QSsl::KeyAlgorithm algorithm : { QSsl::Rsa, QSsl::Ec, QSsl::Dsa }) {
            key = QSslKey(pem, algorithm);
            if (!key.isNull())
                break;
        }
    }
    if (certificates.isEmpty()) {
        *error = QStringLiteral("invalid value for clusterTlsCert: '%1' (no PEM certificate)")
                     .arg(certPath);
    } else if (key.isNull()) {
        *error = QStringLiteral("invalid value for clusterTlsKey: '%1' (no PEM private key)")
                     .arg(keyPath);
    } else if (authorities.isEmpty()) {
        *error = QStringLiteral("invalid value for clusterTlsCa: '%1' (no PEM certificate)")
                     .arg(caPath);
    } else if (!QSslSocket::supportsSsl()) {
        *error = QStringLiteral("cluster TLS: this build has no TLS backend");
    }
    if (!error->isEmpty())
        return std::nullopt;
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificate(certificates.first());
    tls.setPrivateKey(key);
    tls.setCaCertificates(authorities);
    tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    return tls;
}

} // namespace wingman::cluster

#pragma once

#include <QString>
#include <QStringList>

namespace wingman::test {

// Certificates for TLS tests, made by the openssl command line in a directory the test owns.
class TestCertificates
{
public:
    explicit TestCertificates(QString directory);

    // The openssl command's path; empty when it is not installed (the test should skip).
    static QString opensslPath();

    // name.pem and name.key: a self-signed certificate for 127.0.0.1, usable as a CA.
    bool selfSigned(const QString &name);
    // name.pem and name.key for 127.0.0.1 (server and client auth), signed by the CA ca (its
    // .pem and .key).
    bool signedBy(const QString &name, const QString &ca);

    QString path(const QString &file) const;

private:
    bool openssl(const QStringList &arguments);

    QString m_directory;
};

} // namespace wingman::test

#include "TestCertificates.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>

namespace wingman::test {

TestCertificates::TestCertificates(QString directory)
    : m_directory(std::move(directory))
{ }

QString TestCertificates::opensslPath()
{
    return QStandardPaths::findExecutable(QStringLiteral("openssl"));
}

bool TestCertificates::selfSigned(const QString &name)
{
    return openssl({ "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "1", "-subj",
        "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1" });
}

bool TestCertificates::signedBy(const QString &name, const QString &ca)
{
    QFile ext(path(QStringLiteral("ext.cnf")));
    if (!ext.open(QIODevice::WriteOnly))
        return false;
    ext.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
    ext.close();
    return openssl({ "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name })
        && openssl(
            { "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "1", "-extfile", "ext.cnf" });
}

QString TestCertificates::path(const QString &file) const
{
    return QDir(m_directory).filePath(file);
}

bool TestCertificates::openssl(const QStringList &arguments)
{
    QProcess process;
    process.setWorkingDirectory(m_directory);
    process.start(opensslPath(), arguments);
    if (!process.waitForFinished(30000) || process.exitCode() != 0) {
        qWarning("openssl %s: %s", qPrintable(arguments.join(u' ')),
            process.readAllStandardError().constData());
        return false;
    }
    return true;
}

} // namespace wingman::test

#include "ServerFactory.h"
#include "TestServer.h"
#include "cluster/ClusterModule.h"

#include <QProcess>
#include <QSignalSpy>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;

namespace {

const QByteArray kClusterSecret("tls-test-cluster-secret");

bool knows(const ServerCoordinator &node, const QString &nodeId)
{
    for (const cluster::MemberInfo &info : node.cluster()->memberInfos()) {
        if (info.nodeId == nodeId)
            return true;
    }
    return false;
}

} // namespace

// Peer links over TLS with mutual verification (docs/cluster.md §1); certificates are made by
// the openssl command line for each run.
class tst_ClusterTls : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_openssl;

    bool openssl(const QStringList &arguments)
    {
        QProcess process;
        process.setWorkingDirectory(m_dir.path());
        process.start(m_openssl, arguments);
        if (!process.waitForFinished(30000) || process.exitCode() != 0) {
            qWarning("openssl %s: %s", qPrintable(arguments.join(u' ')),
                process.readAllStandardError().constData());
            return false;
        }
        return true;
    }

    // <name>.pem and <name>.key, signed by the CA <ca> (its .pem and .key).
    bool makeCertificate(const QString &name, const QString &ca)
    {
        QFile ext(m_dir.filePath(QStringLiteral("ext.cnf")));
        if (!ext.open(QIODevice::WriteOnly))
            return false;
        ext.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
        ext.close();
        return openssl(
                   { "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                       "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name })
            && openssl({ "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
                ca + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "1", "-extfile",
                "ext.cnf" });
    }

    bool makeCa(const QString &name)
    {
        return openssl({ "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out",
            name + ".pem", "-days", "1", "-subj", "/CN=" + name });
    }

    ServerConfig tlsConfig(const QString &nodeId, const QString &cert, const QString &ca,
        const QList<const ServerCoordinator *> &peers = {})
    {
        ServerConfig config = testConfig();
        config.nodeId = nodeId;
        config.clusterSecret = kClusterSecret;
        if (!cert.isEmpty()) {
            config.clusterTlsCert = m_dir.filePath(cert + ".pem");
            config.clusterTlsKey = m_dir.filePath(cert + ".key");
            config.clusterTlsCa = m_dir.filePath(ca + ".pem");
        }
        for (const ServerCoordinator *peer : peers)
            config.peers.append(QStringLiteral("127.0.0.1:%1").arg(peer->clusterPort()));
        return config;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
        if (m_openssl.isEmpty() || !QSslSocket::supportsSsl())
            QSKIP("needs the openssl command and a TLS backend");
        QVERIFY(m_dir.isValid());
        QVERIFY(makeCa(QStringLiteral("ca")));
        QVERIFY(makeCa(QStringLiteral("other-ca")));
        QVERIFY(makeCertificate(QStringLiteral("node-a"), QStringLiteral("ca")));
        QVERIFY(makeCertificate(QStringLiteral("node-b"), QStringLiteral("ca")));
        QVERIFY(makeCertificate(QStringLiteral("node-x"), QStringLiteral("other-ca")));
    }

    void tlsLinksAndRefusals()
    {
        auto a = startServer(tlsConfig(QStringLiteral("node-a"), "node-a", "ca"));
        QVERIFY(a);
        auto b = startServer(tlsConfig(QStringLiteral("node-b"), "node-b", "ca", { a.get() }));
        QVERIFY(b);
        QTRY_VERIFY_WITH_TIMEOUT(a->cluster()->peerSocketCount() == 1
                && b->cluster()->peerSocketCount() == 1
                && a->cluster()->table().members().size() == 2,
            5000);

        // A certificate from another CA, and a peer without TLS, never get in.
        auto x
            = startServer(tlsConfig(QStringLiteral("node-x"), "node-x", "other-ca", { a.get() }));
        QVERIFY(x);
        auto plain = startServer(tlsConfig(QStringLiteral("node-plain"), {}, {}, { a.get() }));
        QVERIFY(plain);
        QTRY_VERIFY_WITH_TIMEOUT(
            x->cluster()->handshakeFailures().value(QStringLiteral("tls")) >= 1, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(plain->cluster()->members().size() == 1
                && plain->cluster()->members().first().nodeId.isEmpty(),
            5000);
        QVERIFY(!QTest::qWaitFor(
            [&] {
                return knows(*a, QStringLiteral("node-x"))
                    || knows(*a, QStringLiteral("node-plain"))
                    || x->cluster()->peerSocketCount() > 0
                    || plain->cluster()->peerSocketCount() > 0;
            },
            2000));
        QCOMPARE(a->cluster()->peerSocketCount(), 1);
        for (auto *node : { plain.get(), x.get(), b.get(), a.get() })
            QVERIFY(stopServer(*node));
    }

    void partialTlsConfigIsAStartupError()
    {
        ServerConfig config = tlsConfig(QStringLiteral("node-a"), "node-a", "ca");
        config.clusterTlsCa.clear();
        std::unique_ptr<ServerCoordinator> node(ServerFactory::create(config));
        QSignalSpy failed(node.get(), &ServerCoordinator::startupFailed);
        QVERIFY(failed.wait(5000));
        QVERIFY(failed.first().first().toString().contains(u"--cluster-tls-ca"));

        config = tlsConfig(QStringLiteral("node-a"), "node-a", "ca");
        config.clusterTlsKey = config.clusterTlsCa; // a certificate, not a key
        node.reset(ServerFactory::create(config));
        QSignalSpy badKey(node.get(), &ServerCoordinator::startupFailed);
        QVERIFY(badKey.wait(5000));
        QVERIFY(badKey.first().first().toString().contains(u"clusterTlsKey"));
    }
};

QTEST_GUILESS_MAIN(tst_ClusterTls)
#include "tst_cluster_tls.moc"

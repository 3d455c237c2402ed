#include "ServerFactory.h"
#include "TestCertificates.h"
#include "TestServer.h"
#include "cluster/ClusterModule.h"

#include <QSignalSpy>
#include <QSslSocket>
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
    TestCertificates m_certs { m_dir.path() };

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
        if (TestCertificates::opensslPath().isEmpty() || !QSslSocket::supportsSsl())
            QSKIP("needs the openssl command and a TLS backend");
        QVERIFY(m_dir.isValid());
        QVERIFY(m_certs.selfSigned(QStringLiteral("ca")));
        QVERIFY(m_certs.selfSigned(QStringLiteral("other-ca")));
        QVERIFY(m_certs.signedBy(QStringLiteral("node-a"), QStringLiteral("ca")));
        QVERIFY(m_certs.signedBy(QStringLiteral("node-b"), QStringLiteral("ca")));
        QVERIFY(m_certs.signedBy(QStringLiteral("node-x"), QStringLiteral("other-ca")));
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

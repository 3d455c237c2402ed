#include "cluster/PeerHandshake.h"

#include <QTest>

#include <openssl/evp.h>
#include <openssl/hmac.h>

using namespace wingman::cluster;

namespace {

// The MAC as docs/cluster.md §1 spells it, computed with OpenSSL rather than Qt.
QByteArray expectedMac(const QByteArray &secret, const QByteArray &sender,
    const QByteArray &receiver, const QByteArray &receiverNonce, const QByteArray &senderNonce)
{
    QByteArray message("wingman-cluster/2");
    message += '\0';
    message += sender;
    message += '\0';
    message += receiver;
    message += '\0';
    message += receiverNonce;
    message += senderNonce;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.constData(), int(secret.size()),
        reinterpret_cast<const unsigned char *>(message.constData()), size_t(message.size()), out,
        &length);
    return QByteArray(reinterpret_cast<const char *>(out), int(length));
}

const QByteArray kSecret("a-shared-cluster-secret");
const QByteArray kNonceA(32, '\x11');
const QByteArray kNonceB(32, '\x22');

} // namespace

class tst_PeerHandshake : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void nonces()
    {
        const QByteArray first = PeerHandshake::newNonce();
        QCOMPARE(first.size(), 32);
        QVERIFY(first != PeerHandshake::newNonce());
    }

    void macVectors_data()
    {
        QTest::addColumn<QString>("sender");
        QTest::addColumn<QString>("receiver");
        QTest::newRow("ascii") << "node-a"
                               << "node-b";
        QTest::newRow("utf-8 ids") << QString::fromUtf8("nœud-é") << "B";
        QTest::newRow("empty ids") << QString() << QString();
    }

    void macVectors()
    {
        QFETCH(QString, sender);
        QFETCH(QString, receiver);
        const QByteArray mac = PeerHandshake::mac(kSecret, sender, receiver, kNonceB, kNonceA);
        QCOMPARE(mac.size(), 32);
        QCOMPARE(mac.toHex(),
            expectedMac(kSecret, sender.toUtf8(), receiver.toUtf8(), kNonceB, kNonceA).toHex());
        QVERIFY(PeerHandshake::verify(kSecret, sender, receiver, kNonceB, kNonceA, mac));
    }

    // A MAC the peer made for the other direction, sent back to it, must not pass.
    void reflectionRefused()
    {
        const QByteArray aToB = PeerHandshake::mac(
            kSecret, QStringLiteral("a"), QStringLiteral("b"), kNonceB, kNonceA);
        QVERIFY(!PeerHandshake::verify(
            kSecret, QStringLiteral("b"), QStringLiteral("a"), kNonceA, kNonceB, aToB));
        QVERIFY(!PeerHandshake::verify(
            kSecret, QStringLiteral("b"), QStringLiteral("a"), kNonceB, kNonceA, aToB));
        QVERIFY(PeerHandshake::verify(
            kSecret, QStringLiteral("a"), QStringLiteral("b"), kNonceB, kNonceA, aToB));
    }

    void wrongSecretOrNonceFails()
    {
        const QByteArray mac = PeerHandshake::mac(
            kSecret, QStringLiteral("a"), QStringLiteral("b"), kNonceB, kNonceA);
        QVERIFY(!PeerHandshake::verify(QByteArray("another-secret-entirely"), QStringLiteral("a"),
            QStringLiteral("b"), kNonceB, kNonceA, mac));
        QVERIFY(!PeerHandshake::verify(kSecret, QStringLiteral("a"), QStringLiteral("b"),
            QByteArray(32, '\x33'), kNonceA, mac));
        QVERIFY(!PeerHandshake::verify(
            kSecret, QStringLiteral("a"), QStringLiteral("b"), kNonceB, kNonceA, mac.left(31)));
        QVERIFY(!PeerHandshake::verify(
            QByteArray(), QStringLiteral("a"), QStringLiteral("b"), kNonceB, kNonceA, mac));
    }

    // The version is part of what is MACed: a version-1 peer's MAC never passes.
    void versionIsBound()
    {
        QCOMPARE(PeerHandshake::kProtocolVersion, 2);
        QByteArray message("wingman-cluster/1");
        message += '\0';
        message += "a";
        message += '\0';
        message += "b";
        message += '\0';
        message += kNonceB + kNonceA;
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        HMAC(EVP_sha256(), kSecret.constData(), int(kSecret.size()),
            reinterpret_cast<const unsigned char *>(message.constData()), size_t(message.size()),
            out, &length);
        const QByteArray versionOneMac(reinterpret_cast<const char *>(out), int(length));
        QVERIFY(!PeerHandshake::verify(
            kSecret, QStringLiteral("a"), QStringLiteral("b"), kNonceB, kNonceA, versionOneMac));
    }
};

QTEST_GUILESS_MAIN(tst_PeerHandshake)
#include "tst_peerhandshake.moc"

#pragma once

#include <QByteArray>
#include <QString>

namespace wingman::cluster {

// The cluster handshake's cryptography (docs/cluster.md §1), pure so it is tested without
// sockets. Each side proves it knows the shared secret by a MAC over both node ids and both
// fresh nonces; the secret itself never travels.
class PeerHandshake
{
public:
    static constexpr int kProtocolVersion = 2;
    static constexpr int kNonceBytes = 32;
    static constexpr int kMinSecretBytes = 16;

    // kNonceBytes from the system CSPRNG.
    static QByteArray newNonce();

    // mac(S→R) = HMAC-SHA256(secret, "wingman-cluster/2" ‖ 0 ‖ S ‖ 0 ‖ R ‖ 0 ‖ nonce_R ‖ nonce_S),
    // ids as UTF-8.
    static QByteArray mac(const QByteArray &secret, const QString &sender, const QString &receiver,
        const QByteArray &receiverNonce, const QByteArray &senderNonce);

    // Whether `mac` is mac(sender→receiver); compared in constant time. False for an empty
    // secret, so a node without one accepts nobody.
    static bool verify(const QByteArray &secret, const QString &sender, const QString &receiver,
        const QByteArray &receiverNonce, const QByteArray &senderNonce, const QByteArray &mac);
};

} // namespace wingman::cluster

#include "cluster/PeerHandshake.h"

#include <QMessageAuthenticationCode>
#include <QRandomGenerator>

#include <openssl/crypto.h>

namespace wingman::cluster {

QByteArray PeerHandshake::newNonce()
{
    QByteArray nonce(kNonceBytes, Qt::Uninitialized);
    QRandomGenerator::system()->generate(reinterpret_cast<quint32 *>(nonce.data()),
        reinterpret_cast<quint32 *>(nonce.data()) + kNonceBytes / 4);
    return nonce;
}

QByteArray PeerHandshake::mac(const QByteArray &secret, const QString &sender,
    const QString &receiver, const QByteArray &receiverNonce, const QByteArray &senderNonce)
{
    QByteArray message
        = QByteArrayLiteral("wingman-cluster/") + QByteArray::number(kProtocolVersion);
    message.append('\0').append(sender.toUtf8()).append('\0').append(receiver.toUtf8());
    message.append('\0').append(receiverNonce).append(senderNonce);
    return QMessageAuthenticationCode::hash(message, secret, QCryptographicHash::Sha256);
}

bool PeerHandshake::verify(const QByteArray &secret, const QString &sender, const QString &receiver,
    const QByteArray &receiverNonce, const QByteArray &senderNonce, const QByteArray &mac)
{
    if (secret.isEmpty())
        return false;
    const QByteArray expected
        = PeerHandshake::mac(secret, sender, receiver, receiverNonce, senderNonce);
    return mac.size() == expected.size()
        && CRYPTO_memcmp(mac.constData(), expected.constData(), size_t(expected.size())) == 0;
}

} // namespace wingman::cluster

#pragma once

#include "Keychain.h"

#include <QObject>

#include <memory>

namespace wingman::monitor {

// Keeps each node's admin token in the system keychain, under the service "wingman-monitor" and
// the key "host:port". Each call ends with its own signal or with unavailable(); when there is no
// keychain nothing is kept anywhere, and the token has to be given again next time.
class TokenStore : public QObject
{
    Q_OBJECT
public:
    static QString defaultService() { return QStringLiteral("wingman-monitor"); }
    static QString key(const QString &host, quint16 port);

    explicit TokenStore(QObject *parent = nullptr);
    explicit TokenStore(std::unique_ptr<Keychain> keychain, QObject *parent = nullptr);
    ~TokenStore() override;

    void load(const QString &host, quint16 port);
    void store(const QString &host, quint16 port, const QByteArray &token);
    void forget(const QString &host, quint16 port);

Q_SIGNALS:
    // token is empty when the keychain holds none for the node.
    void loaded(const QString &host, quint16 port, const QByteArray &token);
    void stored(const QString &host, quint16 port);
    void forgotten(const QString &host, quint16 port);
    void unavailable(const QString &host, quint16 port, const QString &reason);

private:
    void reportUnavailable(const QString &host, quint16 port, const QString &reason);

    std::unique_ptr<Keychain> m_keychain;
};

} // namespace wingman::monitor

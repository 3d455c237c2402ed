#pragma once

#include "Keychain.h"

namespace wingman::monitor {

// The desktop's keychain (Secret Service, KWallet, macOS Keychain, Windows Credential Store)
// through QtKeychain. Any failure other than a missing entry is Unavailable; it never falls back
// to a plain file.
class SystemKeychain : public Keychain
{
    Q_OBJECT
public:
    explicit SystemKeychain(const QString &service, QObject *parent = nullptr);

    QString service() const { return m_service; }

    void read(const QString &key, Callback done) override;
    void write(const QString &key, const QByteArray &data, Callback done) override;
    void remove(const QString &key, Callback done) override;

private:
    QString m_service;
};

} // namespace wingman::monitor

#pragma once

#include <QDialog>
#include <QUrl>

class QLabel;
class QLineEdit;
class QSpinBox;

namespace wingman::monitor {

class TokenStore;

// Asks for a node's host, metrics port and admin token. The host may start with https:// for a
// node serving TLS (or carry its own port). Host and port are remembered in QSettings; the token
// only in the system keychain (through TokenStore), and without one it is asked for each time.
class ConnectDialog : public QDialog
{
    Q_OBJECT
public:
    explicit ConnectDialog(TokenStore *tokens, QWidget *parent = nullptr);

    // The host without a scheme, and the port the host field gives or else the port field.
    QString host() const;
    quint16 port() const;
    // As NodeMonitor takes it; invalid when the host field is not a host.
    QUrl endpoint() const;
    QByteArray token() const;
    // Shown when the keychain cannot keep the token.
    QLabel *keychainHint() const { return m_keychainHint; }

    void accept() override;

private:
    void loadToken();
    void onTokenLoaded(const QString &host, quint16 port, const QByteArray &token);
    void onKeychainUnavailable(const QString &host, quint16 port, const QString &reason);

    TokenStore *m_tokens;
    QLineEdit *m_host;
    QSpinBox *m_port;
    QLineEdit *m_token;
    QLabel *m_keychainHint;
    bool m_tokenEdited = false;
};

} // namespace wingman::monitor

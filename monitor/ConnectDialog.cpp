#include "ConnectDialog.h"
#include "NodeMonitor.h"
#include "TokenStore.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>

namespace wingman::monitor {

namespace {
const QString kHostKey = QStringLiteral("connect/host");
const QString kPortKey = QStringLiteral("connect/port");
// Where versions before the keychain kept the token in plain text.
const QString kLegacyTokenKey = QStringLiteral("connect/token");
} // namespace

ConnectDialog::ConnectDialog(TokenStore *tokens, QWidget *parent)
    : QDialog(parent)
    , m_tokens(tokens)
    , m_host(new QLineEdit(this))
    , m_port(new QSpinBox(this))
    , m_token(new QLineEdit(this))
    , m_keychainHint(new QLabel(tr("The token is not remembered: no system keychain."), this))
{
    setWindowTitle(tr("Connect to a node"));
    m_host->setObjectName(QStringLiteral("host"));
    m_port->setObjectName(QStringLiteral("port"));
    m_token->setObjectName(QStringLiteral("token"));
    QSettings settings;
    m_host->setText(settings.value(kHostKey, QStringLiteral("127.0.0.1")).toString());
    m_port->setRange(1, 65535);
    m_port->setValue(settings.value(kPortKey, 9090).toInt());
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("JWT with the ADMIN role"));
    // Offered once more so that it can go to the keychain, but gone from the plain file at once.
    m_token->setText(settings.value(kLegacyTokenKey).toString());
    settings.remove(kLegacyTokenKey);
    m_keychainHint->setObjectName(QStringLiteral("keychainHint"));
    m_keychainHint->setWordWrap(true);
    m_keychainHint->hide();

    auto *form = new QFormLayout(this);
    form->addRow(tr("Host"), m_host);
    form->addRow(tr("Metrics port"), m_port);
    form->addRow(tr("Admin token"), m_token);
    form->addRow(m_keychainHint);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
    resize(420, sizeHint().height());

    connect(m_token, &QLineEdit::textEdited, this, [this] { m_tokenEdited = true; });
    connect(m_host, &QLineEdit::editingFinished, this, &ConnectDialog::loadToken);
    connect(m_port, &QSpinBox::valueChanged, this, &ConnectDialog::loadToken);
    connect(m_tokens, &TokenStore::loaded, this, &ConnectDialog::onTokenLoaded);
    connect(m_tokens, &TokenStore::unavailable, this, &ConnectDialog::onKeychainUnavailable);
    loadToken();
}

QString ConnectDialog::host() const
{
    const QUrl url = endpoint();
    return url.isValid() ? url.host() : m_host->text().trimmed();
}

quint16 ConnectDialog::port() const
{
    const QUrl url = endpoint();
    return url.isValid() ? quint16(url.port()) : quint16(m_port->value());
}

QUrl ConnectDialog::endpoint() const
{
    return NodeMonitor::endpointFromText(m_host->text(), quint16(m_port->value()));
}

QByteArray ConnectDialog::token() const
{
    return m_token->text().trimmed().toUtf8();
}

void ConnectDialog::accept()
{
    QSettings settings;
    // As typed, so that an https:// node is reached the same way next time.
    settings.setValue(kHostKey, m_host->text().trimmed());
    settings.setValue(kPortKey, int(port()));
    if (token().isEmpty())
        m_tokens->forget(host(), port());
    else
        m_tokens->store(host(), port(), token());
    QDialog::accept();
}

void ConnectDialog::loadToken()
{
    m_tokens->load(host(), port());
}

void ConnectDialog::onTokenLoaded(const QString &host, quint16 port, const QByteArray &token)
{
    if (host != this->host() || port != this->port())
        return;
    m_keychainHint->hide();
    // What the operator typed wins over what the keychain remembered.
    if (!m_tokenEdited && !token.isEmpty())
        m_token->setText(QString::fromUtf8(token));
}

void ConnectDialog::onKeychainUnavailable(const QString &host, quint16 port, const QString &reason)
{
    if (host != this->host() || port != this->port())
        return;
    m_keychainHint->setToolTip(reason);
    m_keychainHint->show();
}

} // namespace wingman::monitor

#include "ConnectDialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>

namespace wingman::monitor {

ConnectDialog::ConnectDialog(QWidget *parent)
    : QDialog(parent)
    , m_host(new QLineEdit(this))
    , m_port(new QSpinBox(this))
    , m_token(new QLineEdit(this))
{
    setWindowTitle(tr("Connect to a node"));
    QSettings settings;
    m_host->setText(
        settings.value(QStringLiteral("connect/host"), QStringLiteral("127.0.0.1")).toString());
    m_port->setRange(1, 65535);
    m_port->setValue(settings.value(QStringLiteral("connect/port"), 9090).toInt());
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setPlaceholderText(tr("JWT with the ADMIN role"));
    m_token->setText(settings.value(QStringLiteral("connect/token")).toString());

    auto *form = new QFormLayout(this);
    form->addRow(tr("Host"), m_host);
    form->addRow(tr("Metrics port"), m_port);
    form->addRow(tr("Admin token"), m_token);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
    resize(420, sizeHint().height());
}

QString ConnectDialog::host() const
{
    return m_host->text().trimmed();
}

quint16 ConnectDialog::port() const
{
    return quint16(m_port->value());
}

QByteArray ConnectDialog::token() const
{
    return m_token->text().trimmed().toUtf8();
}

void ConnectDialog::accept()
{
    QSettings settings;
    settings.setValue(QStringLiteral("connect/host"), host());
    settings.setValue(QStringLiteral("connect/port"), int(port()));
    settings.setValue(QStringLiteral("connect/token"), QString::fromUtf8(token()));
    QDialog::accept();
}

} // namespace wingman::monitor

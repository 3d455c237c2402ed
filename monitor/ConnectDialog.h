#pragma once

#include <QDialog>

class QLineEdit;
class QSpinBox;

namespace wingman::monitor {

// Asks for a node's host, metrics port and admin token; remembers the last answer in QSettings.
class ConnectDialog : public QDialog
{
    Q_OBJECT
public:
    explicit ConnectDialog(QWidget *parent = nullptr);

    QString host() const;
    quint16 port() const;
    QByteArray token() const;

    void accept() override;

private:
    QLineEdit *m_host;
    QSpinBox *m_port;
    QLineEdit *m_token;
};

} // namespace wingman::monitor

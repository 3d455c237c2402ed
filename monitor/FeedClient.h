#pragma once

#include <QJsonObject>
#include <QLoggingCategory>
#include <QObject>
#include <QSslCertificate>
#include <QSslError>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

namespace wingman::monitor {

Q_DECLARE_LOGGING_CATEGORY(lcMonitor)

// One node's monitor feed (ws://host:port/feed?token=..., or wss:// for a node whose metrics port
// serves https://): delivers each JSON frame, and when the link drops it reconnects by itself
// with a growing delay. A node that refuses the token is not retried. A TLS failure (a
// certificate that is not trusted, a handshake that fails) is its own state with the reason, and
// is retried like a lost link, since the node's certificate may be replaced. Everything is
// asynchronous; nothing waits on the network.
class FeedClient : public QObject
{
    Q_OBJECT
public:
    enum class State { Idle, Connecting, Connected, Disconnected, Refused, TlsFailed };
    Q_ENUM(State)

    explicit FeedClient(QObject *parent = nullptr);
    ~FeedClient() override;

    // endpoint: http://host:port or https://host:port, the node's metrics port.
    void open(const QUrl &endpoint, const QByteArray &token);
    void close();
    // The delay before the first retry and the cap it doubles up to.
    void setBackoff(int initialMs, int maxMs);
    // Authorities trusted for https:// nodes besides the system's, from the next connection on.
    void setCaCertificates(const QList<QSslCertificate> &certificates);

    State state() const { return m_state; }
    // Why the last connection ended or was refused.
    QString lastError() const { return m_lastError; }
    QUrl url() const { return m_url; }

Q_SIGNALS:
    void stateChanged(wingman::monitor::FeedClient::State state);
    void frameReceived(const QJsonObject &frame);

private:
    void connectNow();
    void onText(const QString &text);
    void onDisconnected();
    void onSslErrors(const QList<QSslError> &errors);
    void setState(State state);

    QWebSocket m_socket;
    QTimer m_retry;
    QUrl m_url;
    State m_state = State::Idle;
    QString m_lastError;
    // The certificate problems of the current attempt, reported once the socket gives up.
    QString m_tlsError;
    int m_initialBackoffMs = 1000;
    int m_maxBackoffMs = 30000;
    int m_nextBackoffMs = 1000;
    bool m_refused = false;
};

QString feedStateName(FeedClient::State state);

// The certificates of a PEM file of authorities to trust; empty with the reason in error when the
// file cannot be read or holds none.
QList<QSslCertificate> loadCaCertificates(const QString &path, QString *error);

} // namespace wingman::monitor

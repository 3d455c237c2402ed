#pragma once

#include <QJsonObject>
#include <QLoggingCategory>
#include <QObject>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

namespace wingman::monitor {

Q_DECLARE_LOGGING_CATEGORY(lcMonitor)

// One node's monitor feed (ws://host:port/feed?token=...): delivers each JSON frame, and when the
// link drops it reconnects by itself with a growing delay. A node that refuses the token is not
// retried. Everything is asynchronous; nothing waits on the network.
class FeedClient : public QObject
{
    Q_OBJECT
public:
    enum class State { Idle, Connecting, Connected, Disconnected, Refused };
    Q_ENUM(State)

    explicit FeedClient(QObject *parent = nullptr);
    ~FeedClient() override;

    void open(const QString &host, quint16 port, const QByteArray &token);
    void close();
    // The delay before the first retry and the cap it doubles up to.
    void setBackoff(int initialMs, int maxMs);

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
    void setState(State state);

    QWebSocket m_socket;
    QTimer m_retry;
    QUrl m_url;
    State m_state = State::Idle;
    QString m_lastError;
    int m_initialBackoffMs = 1000;
    int m_maxBackoffMs = 30000;
    int m_nextBackoffMs = 1000;
    bool m_refused = false;
};

QString feedStateName(FeedClient::State state);

} // namespace wingman::monitor

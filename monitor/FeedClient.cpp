#include "FeedClient.h"

#include <QJsonDocument>
#include <QSignalBlocker>
#include <QUrlQuery>

#include <algorithm>

namespace wingman::monitor {

Q_LOGGING_CATEGORY(lcMonitor, "wingman.monitor")

QString feedStateName(FeedClient::State state)
{
    switch (state) {
    case FeedClient::State::Idle:
        return QStringLiteral("idle");
    case FeedClient::State::Connecting:
        return QStringLiteral("connecting");
    case FeedClient::State::Connected:
        return QStringLiteral("connected");
    case FeedClient::State::Disconnected:
        return QStringLiteral("disconnected");
    case FeedClient::State::Refused:
        return QStringLiteral("refused");
    }
    return {};
}

FeedClient::FeedClient(QObject *parent)
    : QObject(parent)
{
    m_retry.setSingleShot(true);
    connect(&m_retry, &QTimer::timeout, this, &FeedClient::connectNow);
    connect(&m_socket, &QWebSocket::connected, this, [this] {
        m_nextBackoffMs = m_initialBackoffMs;
        setState(State::Connected);
    });
    connect(&m_socket, &QWebSocket::textMessageReceived, this, &FeedClient::onText);
    connect(&m_socket, &QWebSocket::disconnected, this, &FeedClient::onDisconnected);
    connect(&m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this] {
        if (m_socket.state() == QAbstractSocket::UnconnectedState)
            onDisconnected();
    });
}

FeedClient::~FeedClient()
{
    m_socket.disconnect(this);
}

void FeedClient::open(const QString &host, quint16 port, const QByteArray &token)
{
    m_url = QUrl(QStringLiteral("ws://%1:%2/feed").arg(host).arg(port));
    QUrlQuery query;
    query.addQueryItem(QStringLiteral("token"), QString::fromUtf8(token));
    m_url.setQuery(query);
    m_refused = false;
    m_nextBackoffMs = m_initialBackoffMs;
    connectNow();
}

void FeedClient::close()
{
    m_retry.stop();
    m_refused = true;
    const QSignalBlocker blocker(&m_socket);
    m_socket.abort();
    setState(State::Idle);
}

void FeedClient::setBackoff(int initialMs, int maxMs)
{
    m_initialBackoffMs = initialMs;
    m_maxBackoffMs = maxMs;
    m_nextBackoffMs = initialMs;
}

void FeedClient::connectNow()
{
    setState(State::Connecting);
    {
        const QSignalBlocker blocker(&m_socket);
        m_socket.abort();
    }
    m_socket.open(m_url);
}

void FeedClient::onText(const QString &text)
{
    const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
    if (frame.value(QStringLiteral("type")).toString() == u"refused") {
        m_refused = true;
        m_lastError = frame.value(QStringLiteral("reason")).toString();
        setState(State::Refused);
        return;
    }
    Q_EMIT frameReceived(frame);
}

void FeedClient::onDisconnected()
{
    if (m_retry.isActive() || m_state == State::Idle)
        return;
    if (m_refused) {
        if (m_state == State::Refused || m_state == State::Idle)
            return;
        setState(State::Refused);
        return;
    }
    const int code = m_socket.closeCode();
    if (code == 4001 || code == 4003) {
        m_refused = true;
        m_lastError = m_socket.closeReason();
        setState(State::Refused);
        return;
    }
    m_lastError
        = m_socket.closeReason().isEmpty() ? m_socket.errorString() : m_socket.closeReason();
    setState(State::Disconnected);
    qCDebug(lcMonitor).noquote() << m_url.host() << "feed lost:" << m_lastError << "- retrying in"
                                 << m_nextBackoffMs << "ms";
    m_retry.start(m_nextBackoffMs);
    m_nextBackoffMs = std::min(m_maxBackoffMs, m_nextBackoffMs * 2);
}

void FeedClient::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

} // namespace wingman::monitor

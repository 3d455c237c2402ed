#include "FeedClient.h"

#include <QFile>
#include <QJsonDocument>
#include <QSignalBlocker>
#include <QSslConfiguration>
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
    case FeedClient::State::TlsFailed:
        return QStringLiteral("TLS error");
    }
    return {};
}

QList<QSslCertificate> loadCaCertificates(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, file.errorString());
        return {};
    }
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(file.readAll());
    if (certificates.isEmpty())
        *error = QStringLiteral("%1 holds no PEM certificate").arg(path);
    return certificates;
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
    connect(&m_socket, &QWebSocket::sslErrors, this, &FeedClient::onSslErrors);
}

FeedClient::~FeedClient()
{
    m_socket.disconnect(this);
}

void FeedClient::open(const QUrl &endpoint, const QByteArray &token)
{
    m_url = QUrl();
    m_url.setScheme(endpoint.scheme() == u"https" ? QStringLiteral("wss") : QStringLiteral("ws"));
    m_url.setHost(endpoint.host());
    m_url.setPort(endpoint.port());
    m_url.setPath(QStringLiteral("/feed"));
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

void FeedClient::setCaCertificates(const QList<QSslCertificate> &certificates)
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates(QSslConfiguration::systemCaCertificates() + certificates);
    m_socket.setSslConfiguration(tls);
}

void FeedClient::connectNow()
{
    setState(State::Connecting);
    {
        const QSignalBlocker blocker(&m_socket);
        m_socket.abort();
    }
    m_tlsError.clear();
    m_socket.open(m_url);
}

void FeedClient::onSslErrors(const QList<QSslError> &errors)
{
    // Not ignored: the handshake fails, and the socket's error reports the end of the attempt.
    QStringList reasons;
    for (const QSslError &error : errors)
        reasons.append(error.errorString());
    reasons.removeDuplicates();
    m_tlsError = reasons.join(QStringLiteral("; "));
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
    const bool tlsFailed
        = !m_tlsError.isEmpty() || m_socket.error() == QAbstractSocket::SslHandshakeFailedError;
    if (tlsFailed) {
        m_lastError = QStringLiteral("TLS error with %1:%2: %3")
                          .arg(m_url.host())
                          .arg(m_url.port())
                          .arg(m_tlsError.isEmpty() ? m_socket.errorString() : m_tlsError);
    } else {
        m_lastError
            = m_socket.closeReason().isEmpty() ? m_socket.errorString() : m_socket.closeReason();
    }
    setState(tlsFailed ? State::TlsFailed : State::Disconnected);
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

#include "client/SyncConnection.h"

#include "client/ClientLogging.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"

#include <QSslConfiguration>
#include <QWebSocket>

#include <algorithm>

namespace wingman::client {

using namespace Qt::StringLiterals;

SyncConnection::SyncConnection(const SyncEngineConfig &config, QObject *parent)
    : QObject(parent)
    , m_url(config.url)
    , m_caCertificates(config.caCertificates)
    , m_pinnedCertificates(config.pinnedCertificates)
    , m_authTimeoutMs(config.authTimeoutMs)
    , m_heartbeatTimeoutMs(config.heartbeatTimeoutMs)
{
    m_authTimer.setSingleShot(true);
    m_heartbeatTimer.setInterval(std::max(1, config.heartbeatIntervalMs));
    connect(&m_authTimer, &QTimer::timeout, this,
        [this] { Q_EMIT lost(u"no AUTH_ACK within %1 ms"_s.arg(m_authTimeoutMs)); });
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &SyncConnection::onHeartbeat);
}

SyncConnection::~SyncConnection()
{
    discard();
}

void SyncConnection::open()
{
    discard();
    m_socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    connect(m_socket, &QWebSocket::connected, this, &SyncConnection::connected);
    connect(m_socket, &QWebSocket::disconnected, this, &SyncConnection::onSocketClosed);
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        &SyncConnection::onSocketClosed);
    connect(m_socket, &QWebSocket::sslErrors, this, &SyncConnection::onSslErrors);
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &SyncConnection::frameReceived);
    connect(m_socket, &QWebSocket::textMessageReceived, this,
        [this](const QString &frame) { Q_EMIT frameReceived(frame.toUtf8()); });
    if (!m_caCertificates.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(m_caCertificates);
        m_socket->setSslConfiguration(tls);
    }
    armAuthDeadline();
    qCDebug(lcClient) << "connecting to" << m_url;
    m_socket->open(m_url);
}

bool SyncConnection::discard()
{
    m_authTimer.stop();
    m_heartbeatTimer.stop();
    if (!m_socket)
        return false;
    ++m_generation;
    QWebSocket *socket = std::exchange(m_socket, nullptr);
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
    return true;
}

void SyncConnection::send(const QCborMap &message)
{
    if (m_socket)
        m_socket->sendBinaryMessage(protocol::Frame::encode(message));
}

void SyncConnection::armAuthDeadline()
{
    m_authTimer.start(std::max(1, m_authTimeoutMs));
}

void SyncConnection::stopAuthDeadline()
{
    m_authTimer.stop();
}

void SyncConnection::startHeartbeat()
{
    m_sinceLastPong.start();
    m_heartbeatTimer.start();
}

void SyncConnection::onSocketClosed()
{
    if (!m_socket)
        return;
    const QString reason = m_socket->closeCode() != QWebSocketProtocol::CloseCodeNormal
            || !m_socket->closeReason().isEmpty()
        ? u"closed (%1 %2)"_s.arg(int(m_socket->closeCode())).arg(m_socket->closeReason())
        : m_socket->errorString();
    Q_EMIT lost(reason);
}

// A pinned certificate is trusted as it is: every complaint about it is waived, and a complaint
// about any other certificate fails the handshake.
void SyncConnection::onSslErrors(const QList<QSslError> &errors)
{
    const bool pinned = !errors.isEmpty()
        && std::all_of(errors.cbegin(), errors.cend(), [this](const QSslError &error) {
               return !error.certificate().isNull()
                   && m_pinnedCertificates.contains(error.certificate());
           });
    if (pinned && m_socket) {
        m_socket->ignoreSslErrors();
        return;
    }
    for (const QSslError &error : errors)
        qCWarning(lcClient).noquote() << "TLS:" << error.errorString();
}

void SyncConnection::onHeartbeat()
{
    if (m_sinceLastPong.elapsed() > m_heartbeatTimeoutMs) {
        Q_EMIT lost(u"no PONG for %1 ms"_s.arg(m_sinceLastPong.elapsed()));
        return;
    }
    send(protocol::PingMessage { crdt::Hlc::systemMillis() }.toCbor());
}

} // namespace wingman::client

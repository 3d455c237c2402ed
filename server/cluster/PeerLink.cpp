#include "cluster/PeerLink.h"

#include "cluster/ClusterModule.h"

#include <QJsonDocument>
#include <QTcpSocket>
#include <QtEndian>

#include <algorithm>
#include <utility>

namespace wingman::cluster {

namespace {
constexpr qint64 kMaxFrameBytes = 1 << 20;
constexpr int kMissedHeartbeats = 3;
constexpr int kMaxBackoffMs = 5000;
const QString kHello = QStringLiteral("HELLO");
const QString kHeartbeat = QStringLiteral("HEARTBEAT");
} // namespace

PeerLink::PeerLink(Identity local, QString host, quint16 port, int heartbeatMs, QObject *parent)
    : QObject(parent)
    , m_local(std::move(local))
    , m_outbound(true)
    , m_host(std::move(host))
    , m_port(port)
    , m_heartbeatMs(heartbeatMs)
    , m_socket(new QTcpSocket(this))
{
    m_reconnect.setSingleShot(true);
    connect(&m_reconnect, &QTimer::timeout, this, &PeerLink::connectToPeer);
    wire();
}

PeerLink::PeerLink(Identity local, QTcpSocket *socket, int heartbeatMs, QObject *parent)
    : QObject(parent)
    , m_local(std::move(local))
    , m_outbound(false)
    , m_host(socket->peerAddress().toString())
    , m_heartbeatMs(heartbeatMs)
    , m_socket(socket)
{
    socket->setParent(this);
    wire();
}

PeerLink::~PeerLink() = default;

void PeerLink::wire()
{
    m_heartbeat.setInterval(m_heartbeatMs);
    connect(&m_heartbeat, &QTimer::timeout, this, &PeerLink::onHeartbeatTick);
    connect(m_socket, &QTcpSocket::connected, this, &PeerLink::onConnected);
    connect(m_socket, &QTcpSocket::readyRead, this, &PeerLink::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this,
        [this] { onSocketGone(QStringLiteral("connection closed")); });
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_socket->state() != QAbstractSocket::ConnectedState)
            onSocketGone(m_socket->errorString());
    });
}

void PeerLink::start()
{
    if (m_outbound) {
        connectToPeer();
        return;
    }
    onConnected();
    onReadyRead();
}

void PeerLink::stop()
{
    m_stopped = true;
    m_heartbeat.stop();
    m_reconnect.stop();
    m_socket->disconnect(this);
    m_socket->abort();
    m_up = false;
}

QString PeerLink::address() const
{
    return QStringLiteral("%1:%2").arg(m_host).arg(m_port);
}

void PeerLink::connectToPeer()
{
    if (m_stopped)
        return;
    m_buffer.clear();
    m_socket->abort();
    m_socket->connectToHost(m_host, m_port);
}

void PeerLink::onConnected()
{
    m_attempts = 0;
    m_lastHeard.start();
    m_heartbeat.start();
    sendFrame({ { QStringLiteral("type"), kHello }, { QStringLiteral("nodeId"), m_local.nodeId },
        { QStringLiteral("protocolVersion"), kProtocolVersion },
        { QStringLiteral("clusterPort"), int(m_local.clusterPort) } });
}

void PeerLink::onReadyRead()
{
    m_buffer.append(m_socket->readAll());
    while (m_buffer.size() >= 4) {
        const quint32 length = qFromBigEndian<quint32>(m_buffer.constData());
        if (length > kMaxFrameBytes) {
            qCWarning(lcCluster).noquote()
                << QStringLiteral("peer %1 sent a %2-byte frame; closing")
                       .arg(address())
                       .arg(length);
            m_socket->abort();
            return;
        }
        if (m_buffer.size() < qsizetype(4 + length))
            return;
        const QByteArray payload = m_buffer.mid(4, length);
        m_buffer.remove(0, 4 + length);
        m_lastHeard.start();
        const QJsonDocument document = QJsonDocument::fromJson(payload);
        if (!document.isObject()) {
            qCWarning(lcCluster).noquote()
                << QStringLiteral("peer %1 sent a frame that is not a JSON object").arg(address());
            continue;
        }
        handleFrame(document.object());
        if (m_stopped || m_socket->state() != QAbstractSocket::ConnectedState)
            return;
    }
}

void PeerLink::handleFrame(const QJsonObject &frame)
{
    const QString type = frame.value(QStringLiteral("type")).toString();
    if (type == kHeartbeat || m_up)
        return;
    if (type != kHello)
        return;
    const int version = frame.value(QStringLiteral("protocolVersion")).toInt();
    const QString nodeId = frame.value(QStringLiteral("nodeId")).toString();
    if (version != kProtocolVersion || nodeId.isEmpty() || nodeId == m_local.nodeId) {
        qCWarning(lcCluster).noquote()
            << QStringLiteral("peer %1 refused: node id '%2', protocol version %3")
                   .arg(address(), nodeId)
                   .arg(version);
        m_socket->abort();
        return;
    }
    if (!m_outbound)
        m_port = quint16(frame.value(QStringLiteral("clusterPort")).toInt());
    m_remoteNodeId = nodeId;
    m_up = true;
    qCInfo(lcCluster).noquote() << QStringLiteral("peer %1 up at %2").arg(nodeId, address());
    Q_EMIT up(nodeId);
}

void PeerLink::onHeartbeatTick()
{
    if (m_lastHeard.elapsed() > qint64(m_heartbeatMs) * kMissedHeartbeats) {
        m_socket->abort();
        onSocketGone(QStringLiteral("no heartbeat for %1 ms").arg(m_lastHeard.elapsed()));
        return;
    }
    sendFrame({ { QStringLiteral("type"), kHeartbeat } });
}

void PeerLink::onSocketGone(const QString &reason)
{
    if (m_stopped)
        return;
    m_heartbeat.stop();
    const bool wasUp = std::exchange(m_up, false);
    if (wasUp) {
        qCInfo(lcCluster).noquote()
            << QStringLiteral("peer %1 down at %2: %3").arg(m_remoteNodeId, address(), reason);
        Q_EMIT down(m_remoteNodeId, reason);
    }
    if (m_outbound) {
        scheduleReconnect();
        return;
    }
    m_stopped = true;
    m_socket->disconnect(this);
    Q_EMIT finished();
}

void PeerLink::scheduleReconnect()
{
    if (m_reconnect.isActive())
        return;
    const int delay = std::min(kMaxBackoffMs, (m_heartbeatMs / 4 + 50) << std::min(m_attempts, 6));
    ++m_attempts;
    m_reconnect.start(delay);
}

void PeerLink::sendFrame(const QJsonObject &frame)
{
    if (m_socket->state() != QAbstractSocket::ConnectedState)
        return;
    const QByteArray payload = QJsonDocument(frame).toJson(QJsonDocument::Compact);
    QByteArray header(4, Qt::Uninitialized);
    qToBigEndian<quint32>(quint32(payload.size()), header.data());
    m_socket->write(header + payload);
}

} // namespace wingman::cluster

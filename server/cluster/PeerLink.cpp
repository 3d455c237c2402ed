#include "cluster/PeerLink.h"

#include "cluster/ClusterModule.h"
#include "cluster/PeerHandshake.h"
#include "wire/MsgPackCodec.h"

#include <QCborValue>
#include <QSslSocket>
#include <QTcpSocket>
#include <QtEndian>

#include <utility>

namespace wingman::cluster {

namespace {

const QString kType = QStringLiteral("type");
const QString kHello = QStringLiteral("HELLO");
const QString kHelloAck = QStringLiteral("HELLO_ACK");
const QString kBye = QStringLiteral("BYE");

qint64 integerOf(const QCborValue &value)
{
    return value.isDouble() ? qint64(value.toDouble()) : value.toInteger();
}

} // namespace

QCborMap Hello::toCbor() const
{
    return QCborMap { { kType, kHello }, { QStringLiteral("nodeId"), nodeId },
        { QStringLiteral("protocolVersion"), protocolVersion }, { QStringLiteral("runId"), runId },
        { QStringLiteral("incarnation"), incarnation }, { QStringLiteral("nonce"), nonce },
        { QStringLiteral("clusterAddress"), clusterAddress },
        { QStringLiteral("clientEndpoint"), clientEndpoint },
        { QStringLiteral("tableVersion"), tableVersion },
        { QStringLiteral("gcHorizon"), gcHorizon } };
}

Hello Hello::fromCbor(const QCborMap &map)
{
    Hello hello;
    hello.nodeId = map.value(QStringLiteral("nodeId")).toString();
    hello.protocolVersion = int(integerOf(map.value(QStringLiteral("protocolVersion"))));
    hello.runId = map.value(QStringLiteral("runId")).toString();
    hello.incarnation = integerOf(map.value(QStringLiteral("incarnation")));
    hello.nonce = map.value(QStringLiteral("nonce")).toByteArray();
    hello.clusterAddress = map.value(QStringLiteral("clusterAddress")).toString();
    hello.clientEndpoint = map.value(QStringLiteral("clientEndpoint")).toString();
    hello.tableVersion = integerOf(map.value(QStringLiteral("tableVersion")));
    hello.gcHorizon = integerOf(map.value(QStringLiteral("gcHorizon")));
    return hello;
}

PeerLink::PeerLink(Hello local, QByteArray secret, QString host, quint16 port,
    std::optional<QSslConfiguration> tls, QObject *parent)
    : QObject(parent)
    , m_local(std::move(local))
    , m_secret(std::move(secret))
    , m_outbound(true)
    , m_host(std::move(host))
    , m_port(port)
    , m_socket(tls ? new QSslSocket(this) : new QTcpSocket(this))
    , m_tls(std::move(tls))
{
    wire();
}

PeerLink::PeerLink(Hello local, QByteArray secret, QTcpSocket *socket, QObject *parent)
    : QObject(parent)
    , m_local(std::move(local))
    , m_secret(std::move(secret))
    , m_outbound(false)
    , m_host(socket->peerAddress().toString())
    , m_port(socket->peerPort())
    , m_socket(socket)
{
    socket->setParent(this);
    wire();
}

PeerLink::~PeerLink() = default;

void PeerLink::wire()
{
    m_local.protocolVersion = PeerHandshake::kProtocolVersion;
    m_local.nonce = PeerHandshake::newNonce();
    m_handshakeTimer.setSingleShot(true);
    connect(&m_handshakeTimer, &QTimer::timeout, this,
        [this] { fail(Failure::Protocol, QStringLiteral("handshake timed out")); });
    if (auto *ssl = qobject_cast<QSslSocket *>(m_socket)) {
        connect(ssl, &QSslSocket::encrypted, this, &PeerLink::onConnected);
        connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
            if (!m_up && m_failure == Failure::None && !errors.isEmpty()) {
                m_failure = Failure::Tls;
                m_tlsError = QStringLiteral("TLS: %1").arg(errors.first().errorString());
            }
        });
    } else {
        connect(m_socket, &QTcpSocket::connected, this, &PeerLink::onConnected);
    }
    connect(m_socket, &QTcpSocket::readyRead, this, &PeerLink::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, [this] {
        fail(Failure::Connection,
            m_tlsError.isEmpty() ? QStringLiteral("connection closed") : m_tlsError);
    });
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_socket->state() != QAbstractSocket::ConnectedState)
            fail(Failure::Connection, m_tlsError.isEmpty() ? m_socket->errorString() : m_tlsError);
    });
}

void PeerLink::start()
{
    m_handshakeTimer.start(kHandshakeTimeoutMs);
    auto *ssl = qobject_cast<QSslSocket *>(m_socket);
    if (m_outbound) {
        if (ssl) {
            ssl->setSslConfiguration(*m_tls);
            ssl->connectToHostEncrypted(m_host, m_port);
        } else {
            m_socket->connectToHost(m_host, m_port);
        }
        return;
    }
    if (ssl && !ssl->isEncrypted())
        return; // onConnected() once the server-side handshake is done
    onConnected();
    onReadyRead();
}

QString PeerLink::address() const
{
    return QStringLiteral("%1:%2").arg(m_host).arg(m_port);
}

void PeerLink::onConnected()
{
    m_lastHeard.start();
    writeFrame(wire::MsgPackCodec::encode(m_local.toCbor()));
}

void PeerLink::onReadyRead()
{
    if (m_closed)
        return;
    m_reader.append(m_socket->readAll());
    while (!m_closed) {
        PeerFrameReader::Frame frame = m_reader.next();
        if (frame.status == PeerFrameReader::Frame::Incomplete)
            return;
        if (frame.status == PeerFrameReader::Frame::TooLarge) {
            fail(Failure::Protocol, QStringLiteral("a %1-byte frame").arg(frame.length));
            return;
        }
        m_lastHeard.start();
        if (frame.status == PeerFrameReader::Frame::Untyped) {
            fail(Failure::Protocol, QStringLiteral("a frame without a type"));
            return;
        }
        handleFrame(frame.type, frame.body);
    }
}

void PeerLink::handleFrame(const QString &type, const QByteArray &body)
{
    if (m_up && type != kBye && type != kHello && type != kHelloAck) {
        Q_EMIT frameReceived(type, body);
        return;
    }
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    if (!decoded.ok || !decoded.value.isMap()) {
        fail(Failure::Protocol, QStringLiteral("an undecodable %1 frame").arg(type));
        return;
    }
    const QCborMap frame = decoded.value.toMap();
    if (type == kBye) {
        const QString reason = frame.value(QStringLiteral("reason")).toString();
        m_byeReason = reason;
        fail(m_up ? Failure::None : Failure::Refused, QStringLiteral("BYE: %1").arg(reason));
        return;
    }
    if (m_up)
        return; // a repeated handshake frame changes nothing
    if (type == kHello)
        handleHello(frame);
    else if (type == kHelloAck)
        handleHelloAck(frame);
    else
        fail(Failure::Protocol, QStringLiteral("%1 before authentication").arg(type));
}

void PeerLink::handleHello(const QCborMap &frame)
{
    if (m_helloReceived) {
        fail(Failure::Protocol, QStringLiteral("a second HELLO"));
        return;
    }
    m_remote = Hello::fromCbor(frame);
    m_helloReceived = true;
    if (m_remote.protocolVersion != PeerHandshake::kProtocolVersion) {
        fail(Failure::Version,
            QStringLiteral("protocol version %1, expected %2")
                .arg(m_remote.protocolVersion)
                .arg(PeerHandshake::kProtocolVersion),
            QStringLiteral("protocol version %1 required").arg(PeerHandshake::kProtocolVersion));
        return;
    }
    if (m_remote.nodeId == m_local.nodeId) {
        fail(Failure::Self, QStringLiteral("this node itself"));
        return;
    }
    if (m_remote.nodeId.isEmpty() || m_remote.nonce.size() != PeerHandshake::kNonceBytes) {
        fail(Failure::Protocol, QStringLiteral("a HELLO without node id or nonce"));
        return;
    }
    if (m_secret.isEmpty()) {
        fail(Failure::Authentication, QStringLiteral("no cluster secret configured"),
            QStringLiteral("authentication failed"));
        return;
    }
    const QByteArray mac = PeerHandshake::mac(
        m_secret, m_local.nodeId, m_remote.nodeId, m_remote.nonce, m_local.nonce);
    writeFrame(wire::MsgPackCodec::encode(
        QCborMap { { kType, kHelloAck }, { QStringLiteral("mac"), mac } }));
}

void PeerLink::handleHelloAck(const QCborMap &frame)
{
    if (!m_helloReceived) {
        fail(Failure::Protocol, QStringLiteral("HELLO_ACK before HELLO"));
        return;
    }
    const QByteArray mac = frame.value(QStringLiteral("mac")).toByteArray();
    if (!PeerHandshake::verify(
            m_secret, m_remote.nodeId, m_local.nodeId, m_local.nonce, m_remote.nonce, mac)) {
        fail(Failure::Authentication, QStringLiteral("authentication failed"),
            QStringLiteral("authentication failed"));
        return;
    }
    m_handshakeTimer.stop();
    m_up = true;
    Q_EMIT authenticated();
}

void PeerLink::fail(Failure failure, const QString &reason, const QString &byeReason)
{
    if (m_closed)
        return;
    if (!m_up && m_failure == Failure::None)
        m_failure = failure;
    close(reason, byeReason);
}

void PeerLink::close(const QString &reason, const QString &byeReason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_handshakeTimer.stop();
    const bool wasOpen = m_socket->state() == QAbstractSocket::ConnectedState;
    if (wasOpen && !byeReason.isEmpty()) {
        writeFrame(wire::MsgPackCodec::encode(
            QCborMap { { kType, kBye }, { QStringLiteral("reason"), byeReason } }));
    }
    m_up = false;
    // The socket outlives the link until its last bytes (a BYE) are out, but not the link's owner:
    // a node that stops within that second still frees it.
    QTcpSocket *socket = m_socket;
    socket->disconnect(this);
    socket->setParent(parent());
    if (wasOpen) {
        socket->flush();
        connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
        QTimer::singleShot(1000, socket, [socket] {
            socket->abort();
            socket->deleteLater();
        });
        socket->disconnectFromHost();
    } else {
        socket->abort();
        socket->deleteLater();
    }
    m_socket = nullptr;
    Q_EMIT closed(reason);
}

bool PeerLink::send(const QByteArray &body)
{
    if (!m_up)
        return false;
    writeFrame(body);
    return true;
}

bool PeerLink::sendMap(const QCborMap &frame)
{
    return send(wire::MsgPackCodec::encode(frame));
}

void PeerLink::writeFrame(const QByteArray &body)
{
    if (!m_socket || m_socket->state() != QAbstractSocket::ConnectedState)
        return;
    QByteArray header(4, Qt::Uninitialized);
    qToBigEndian<quint32>(quint32(body.size()), header.data());
    m_socket->write(header);
    m_socket->write(body);
}

} // namespace wingman::cluster

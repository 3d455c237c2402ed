#include "SlowWsClient.h"

#include "RawClient.h"

#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QTest>
#include <QtEndian>

namespace wingman::test {

namespace {

constexpr quint8 kContinuation = 0x0;
constexpr quint8 kText = 0x1;
constexpr quint8 kBinary = 0x2;
constexpr quint8 kClose = 0x8;
constexpr quint8 kPing = 0x9;
// Small next to what the tests send; much smaller makes loopback TCP drop segments and back off
// for seconds, which would slow the drain after resumeReading().
constexpr int kReceiveBufferBytes = 64 * 1024;
constexpr qint64 kReadBufferBytes = 4096;

} // namespace

SlowWsClient::SlowWsClient(QObject *parent)
    : QObject(parent)
{
    connect(&m_socket, &QTcpSocket::readyRead, this, &SlowWsClient::onReadyRead);
    connect(&m_socket, &QTcpSocket::disconnected, this, [this] { m_disconnected = true; });
    connect(&m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_socket.state() == QAbstractSocket::UnconnectedState)
            m_disconnected = true;
    });
}

bool SlowWsClient::connectAndAuthenticate(quint16 port, const QByteArray &token, int timeoutMs)
{
    if (!handshake(port, timeoutMs) || !take(QStringLiteral("AUTH_REQUIRED"), timeoutMs))
        return false;
    QCborMap auth;
    auth.insert(QStringLiteral("type"), QStringLiteral("AUTH"));
    auth.insert(QStringLiteral("token"), QString::fromUtf8(token));
    send(auth);
    return take(QStringLiteral("AUTH_ACK"), timeoutMs).has_value();
}

bool SlowWsClient::handshake(quint16 port, int timeoutMs)
{
    m_socket.setReadBufferSize(kReadBufferBytes);
    m_socket.connectToHost(QHostAddress::LocalHost, port);
    if (!QTest::qWaitFor(
            [this] {
                return m_socket.state() == QAbstractSocket::ConnectedState || m_disconnected;
            },
            timeoutMs)
        || m_socket.state() != QAbstractSocket::ConnectedState)
        return false;
    // Set after connecting (Qt has no socket engine before): on Linux it still pins the buffer
    // and turns off receive autotuning.
    m_socket.setSocketOption(QAbstractSocket::ReceiveBufferSizeSocketOption, kReceiveBufferBytes);

    QByteArray nonce(16, Qt::Uninitialized);
    for (char &c : nonce)
        c = char(QRandomGenerator::global()->bounded(256));
    const QByteArray key = nonce.toBase64();
    m_socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
        + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
        + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    if (!QTest::qWaitFor(
            [this] { return m_buffer.contains("\r\n\r\n") || m_disconnected; }, timeoutMs))
        return false;
    const qsizetype end = m_buffer.indexOf("\r\n\r\n");
    if (end < 0)
        return false;
    const QByteArray response = m_buffer.left(end);
    m_buffer.remove(0, end + 4);
    const QByteArray accept = QCryptographicHash::hash(
        key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", QCryptographicHash::Sha1)
                                  .toBase64();
    if (!response.startsWith("HTTP/1.1 101") || !response.contains(accept))
        return false;
    m_upgraded = true;
    parseFrames();
    return true;
}

void SlowWsClient::send(const QCborMap &message)
{
    writeFrame(kBinary, protocol::Frame::encode(message));
}

void SlowWsClient::writeFrame(quint8 opcode, const QByteArray &payload)
{
    QByteArray frame;
    frame.append(char(0x80 | opcode));
    const qsizetype size = payload.size();
    if (size < 126) {
        frame.append(char(0x80 | size));
    } else if (size <= 0xFFFF) {
        frame.append(char(0x80 | 126));
        char length[2];
        qToBigEndian(quint16(size), length);
        frame.append(length, 2);
    } else {
        frame.append(char(0x80 | 127));
        char length[8];
        qToBigEndian(quint64(size), length);
        frame.append(length, 8);
    }
    const quint32 mask = QRandomGenerator::global()->generate();
    char maskBytes[4];
    qToBigEndian(mask, maskBytes);
    frame.append(maskBytes, 4);
    const qsizetype start = frame.size();
    frame.append(payload);
    for (qsizetype i = 0; i < size; ++i)
        frame[start + i] = char(frame[start + i] ^ maskBytes[i % 4]);
    m_socket.write(frame);
}

std::optional<QCborMap> SlowWsClient::take(const QString &type, int timeoutMs)
{
    return takeMessage(m_inbox, type, timeoutMs);
}

void SlowWsClient::stopReading()
{
    m_reading = false;
}

void SlowWsClient::resumeReading()
{
    m_reading = true;
    m_socket.setReadBufferSize(0);
    onReadyRead();
}

bool SlowWsClient::waitForDisconnected(int timeoutMs)
{
    // A socket whose read buffer was full does not always get its read notifier back (Qt 6.4);
    // a zero-timeout wait reads whatever the kernel holds.
    return m_disconnected
        || QTest::qWaitFor(
            [this] {
                if (m_reading && !m_disconnected && m_socket.waitForReadyRead(0))
                    onReadyRead();
                return m_disconnected;
            },
            timeoutMs);
}

bool SlowWsClient::isConnected() const
{
    return m_socket.state() == QAbstractSocket::ConnectedState;
}

void SlowWsClient::onReadyRead()
{
    if (!m_reading)
        return;
    m_buffer.append(m_socket.readAll());
    if (m_upgraded)
        parseFrames();
}

void SlowWsClient::parseFrames()
{
    for (;;) {
        if (m_buffer.size() < 2)
            return;
        const auto *bytes = reinterpret_cast<const uchar *>(m_buffer.constData());
        const bool fin = bytes[0] & 0x80;
        const quint8 opcode = bytes[0] & 0x0F;
        quint64 length = bytes[1] & 0x7F;
        qsizetype header = 2;
        if (length == 126) {
            if (m_buffer.size() < 4)
                return;
            length = qFromBigEndian<quint16>(bytes + 2);
            header = 4;
        } else if (length == 127) {
            if (m_buffer.size() < 10)
                return;
            length = qFromBigEndian<quint64>(bytes + 2);
            header = 10;
        }
        if (quint64(m_buffer.size() - header) < length)
            return;
        const QByteArray payload = m_buffer.mid(header, qsizetype(length));
        m_buffer.remove(0, header + qsizetype(length));

        if (opcode == kClose) {
            if (payload.size() >= 2)
                m_closeCode = qFromBigEndian<quint16>(payload.constData());
            continue;
        }
        if (opcode == kPing) {
            writeFrame(0xA, payload);
            continue;
        }
        if (opcode != kBinary && opcode != kText && opcode != kContinuation)
            continue;
        m_fragments.append(payload);
        if (fin)
            deliver(std::exchange(m_fragments, {}));
    }
}

void SlowWsClient::deliver(const QByteArray &message)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(message);
    if (decoded.status != protocol::FrameDecodeResult::Ok)
        return;
    if (decoded.type == u"BATCH") {
        for (const QByteArray &inner : protocol::BatchContainer::decode(decoded.message).messages)
            deliver(inner);
        return;
    }
    m_inbox.append(decoded.message);
}

} // namespace wingman::test

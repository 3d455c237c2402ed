#pragma once

#include <QCborMap>
#include <QList>
#include <QObject>
#include <QTcpSocket>
#include <optional>

namespace wingman::test {

// A WebSocket client written by hand over a raw QTcpSocket, so that a test can stop reading
// entirely (QWebSocket in Qt 6.4 cannot pause): a consumer that never drains what the server
// sends. Client frames are masked as RFC 6455 requires; server frames (binary, continuation,
// close) are parsed and BATCH containers unpacked, as RawClient does.
class SlowWsClient : public QObject
{
    Q_OBJECT
public:
    explicit SlowWsClient(QObject *parent = nullptr);

    // Connects with a small kernel receive buffer, performs the HTTP upgrade, waits for
    // AUTH_REQUIRED, authenticates and waits for AUTH_ACK.
    bool connectAndAuthenticate(quint16 port, const QByteArray &token, int timeoutMs = 5000);
    void send(const QCborMap &message);
    // Waits for the first not-yet-taken message of this type and removes it from the inbox.
    std::optional<QCborMap> take(const QString &type, int timeoutMs = 5000);

    // From now on nothing is read from the socket: the kernel buffers fill and the server's
    // writes back up.
    void stopReading();
    // Reads and discards again, so that the end of the stream (close frame or disconnect) shows.
    void resumeReading();
    bool waitForDisconnected(int timeoutMs = 5000);
    bool isConnected() const;
    // The close code of a close frame from the server, or -1 when none arrived.
    int closeCode() const { return m_closeCode; }
    QTcpSocket &socket() { return m_socket; }

private:
    bool handshake(quint16 port, int timeoutMs);
    void onReadyRead();
    void parseFrames();
    void deliver(const QByteArray &message);
    void writeFrame(quint8 opcode, const QByteArray &payload);

    QTcpSocket m_socket;
    QByteArray m_buffer;
    QByteArray m_fragments;
    QList<QCborMap> m_inbox;
    bool m_upgraded = false;
    bool m_reading = true;
    bool m_disconnected = false;
    int m_closeCode = -1;
};

} // namespace wingman::test

#pragma once

#include "cluster/PeerFrameReader.h"

#include <QByteArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QObject>
#include <QSslConfiguration>
#include <QTimer>

#include <optional>

class QTcpSocket;

namespace wingman::cluster {

// What a node says about itself in HELLO (docs/cluster.md §1).
struct Hello {
    QString nodeId;
    int protocolVersion = 0;
    QString runId;
    qint64 incarnation = 0;
    QByteArray nonce;
    QString clusterAddress;
    QString clientEndpoint;
    qint64 tableVersion = 0;
    qint64 gcHorizon = 0;

    QCborMap toCbor() const;
    static Hello fromCbor(const QCborMap &map);
};

// One TCP connection to another node's cluster port: u32 big-endian length + one MessagePack map
// body, the HMAC handshake, then frames both ways. Used once: a closed link is not reopened (the
// cluster dials a new one). Outbound links connect on start(); inbound ones wrap an accepted
// socket.
class PeerLink : public QObject
{
    Q_OBJECT
public:
    static constexpr int kHandshakeTimeoutMs = 5000;

    enum class Failure {
        None,
        Authentication, // a bad MAC, either way
        Version, // protocol version mismatch
        Self, // the peer is this node
        Refused, // the peer said BYE during the handshake
        Protocol, // a malformed or unexpected frame, or the handshake took too long
        Connection, // the socket failed or closed
        Tls, // the TLS handshake failed (certificate not from the CA, ...)
    };

    // Outbound: dials host:port on start(); over TLS when `tls` is set.
    PeerLink(Hello local, QByteArray secret, QString host, quint16 port,
        std::optional<QSslConfiguration> tls = std::nullopt, QObject *parent = nullptr);
    // Inbound: takes ownership of an accepted socket (a QSslSocket in server mode under TLS: the
    // HELLO waits for its handshake).
    PeerLink(Hello local, QByteArray secret, QTcpSocket *socket, QObject *parent = nullptr);
    ~PeerLink() override;

    void start();
    // Sends BYE {reason} when non-empty and the socket is open, then closes; emits closed().
    void close(const QString &reason, const QString &byeReason = {});
    // Queues one frame body; false when the link is not up.
    bool send(const QByteArray &body);
    bool sendMap(const QCborMap &frame);

    bool isOutbound() const { return m_outbound; }
    bool isUp() const { return m_up; }
    bool isClosed() const { return m_closed; }
    // The peer's HELLO; empty until it arrived.
    const Hello &remote() const { return m_remote; }
    // host:port dialled, or the peer's socket address for an inbound link.
    QString address() const;
    qint64 silentMs() const { return m_lastHeard.isValid() ? m_lastHeard.elapsed() : 0; }
    Failure failure() const { return m_failure; }
    // The reason of the peer's BYE, if it sent one.
    const QString &byeReason() const { return m_byeReason; }

Q_SIGNALS:
    // The peer proved it holds the secret; remote() is its HELLO.
    void authenticated();
    // A frame after authentication, other than HELLO, HELLO_ACK and BYE.
    void frameReceived(const QString &type, const QByteArray &body);
    // Once, however the link ends; failure() says why a handshake failed.
    void closed(const QString &reason);

private:
    void wire();
    void onConnected();
    void onReadyRead();
    void handleFrame(const QString &type, const QByteArray &body);
    void handleHello(const QCborMap &frame);
    void handleHelloAck(const QCborMap &frame);
    void fail(Failure failure, const QString &reason, const QString &byeReason = {});
    void writeFrame(const QByteArray &body);

    Hello m_local;
    QByteArray m_secret;
    bool m_outbound;
    QString m_host;
    quint16 m_port = 0;
    QTcpSocket *m_socket;
    std::optional<QSslConfiguration> m_tls;
    PeerFrameReader m_reader;
    QTimer m_handshakeTimer;
    QElapsedTimer m_lastHeard;
    Hello m_remote;
    bool m_helloReceived = false;
    bool m_up = false;
    bool m_closed = false;
    Failure m_failure = Failure::None;
    QString m_byeReason;
    QString m_tlsError;
};

} // namespace wingman::cluster

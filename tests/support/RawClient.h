#pragma once

#include <QCborMap>
#include <QList>
#include <QObject>
#include <QSet>
#include <QWebSocket>
#include <memory>
#include <optional>

namespace wingman::test {

// Takes the first message of this type out of inbox, waiting (event loop running) up to
// timeoutMs for one to arrive.
std::optional<QCborMap> takeMessage(QList<QCborMap> &inbox, const QString &type, int timeoutMs);

// A bare protocol client for tests: a real QWebSocket that records every message the server sends
// (BATCH frames unpacked in order) and lets a test wait for one by type.
class RawClient : public QObject
{
    Q_OBJECT
public:
    explicit RawClient(QObject *parent = nullptr);
    ~RawClient() override;

    // A client connected and authenticated as user (a token signed with kTestSecret); null when
    // that fails.
    static std::unique_ptr<RawClient> authenticated(
        quint16 port, const QString &user, const QStringList &roles = { QStringLiteral("USER") });
    // A message's payload map; empty for nullopt.
    static QCborMap payloadOf(const std::optional<QCborMap> &message);
    // Every key of mapName on the node at port, read as user "reader" through a QUERY_SUB without
    // predicate; nullopt when the node does not answer.
    static std::optional<QSet<QString>> keysOf(
        quint16 port, const QString &mapName, int timeoutMs = 20000);

    // Opens ws://127.0.0.1:port/ and waits until connected.
    bool connectTo(quint16 port, int timeoutMs = 5000);
    bool connectToUrl(const QUrl &url, int timeoutMs = 5000);
    // Connects, waits for AUTH_REQUIRED, sends AUTH and waits for AUTH_ACK.
    bool connectAndAuthenticate(quint16 port, const QByteArray &token, int timeoutMs = 5000);

    void send(const QCborMap &message);
    void sendBinary(const QByteArray &frame);
    void sendText(const QString &frame);
    void sendAuth(const QByteArray &token);

    // Waits for the first not-yet-taken message of this type, removes it from the inbox and
    // returns it.
    std::optional<QCborMap> take(const QString &type, int timeoutMs = 5000);
    // The pair of OP_ACKs one OP_BATCH gets (docs/protocol.md "Wingman's ack rule") taken as one
    // message: the first's, with the results of both in the order sent. nullopt when the pair
    // does not arrive, or is not shaped as the rule says.
    std::optional<QCborMap> takeAck(int timeoutMs = 5000);
    // Sends PING and takes its PONG: everything the server sent before has arrived.
    bool roundTrip(int timeoutMs = 10000);
    // True if a message of this type is in the inbox now (no waiting).
    bool has(const QString &type) const;
    bool waitForDisconnected(int timeoutMs = 5000);
    bool isConnected() const;

    const QList<QCborMap> &inbox() const { return m_inbox; }
    // Types of every message received so far, in order, including taken ones.
    const QStringList &receivedTypes() const { return m_receivedTypes; }
    int closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }
    QWebSocket &socket() { return m_socket; }

    void close();

Q_SIGNALS:
    void messageReceived(const QCborMap &message);

private:
    void onBinary(const QByteArray &frame);
    void deliver(const QCborMap &message);

    QWebSocket m_socket;
    QList<QCborMap> m_inbox;
    QStringList m_receivedTypes;
    int m_closeCode = -1;
    QString m_closeReason;
    bool m_disconnected = false;
};

} // namespace wingman::test

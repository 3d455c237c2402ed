#include "RawClient.h"

#include "TestServer.h"
#include "TestTokens.h"
#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

#include <QCborArray>
#include <QTest>

namespace wingman::test {

RawClient::RawClient(QObject *parent)
    : QObject(parent)
{
    connect(&m_socket, &QWebSocket::binaryMessageReceived, this, &RawClient::onBinary);
    connect(&m_socket, &QWebSocket::textMessageReceived, this,
        [this](const QString &text) { onBinary(text.toUtf8()); });
    connect(&m_socket, &QWebSocket::disconnected, this, [this] {
        m_disconnected = true;
        m_closeCode = m_socket.closeCode();
        m_closeReason = m_socket.closeReason();
    });
}

RawClient::~RawClient()
{
    // Qt WebSockets 6.4 leaks the close reason of a QWebSocket destroyed while connected.
    m_socket.abort();
}

bool RawClient::connectTo(quint16 port, int timeoutMs)
{
    return connectToUrl(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)), timeoutMs);
}

bool RawClient::connectToUrl(const QUrl &url, int timeoutMs)
{
    m_disconnected = false;
    m_socket.open(url);
    return QTest::qWaitFor(
               [this] {
                   return m_socket.state() == QAbstractSocket::ConnectedState || m_disconnected;
               },
               timeoutMs)
        && m_socket.state() == QAbstractSocket::ConnectedState;
}

bool RawClient::connectAndAuthenticate(quint16 port, const QByteArray &token, int timeoutMs)
{
    if (!connectTo(port, timeoutMs) || !take(QStringLiteral("AUTH_REQUIRED"), timeoutMs))
        return false;
    sendAuth(token);
    return take(QStringLiteral("AUTH_ACK"), timeoutMs).has_value();
}

void RawClient::send(const QCborMap &message)
{
    m_socket.sendBinaryMessage(protocol::Frame::encode(message));
}

void RawClient::sendBinary(const QByteArray &frame)
{
    m_socket.sendBinaryMessage(frame);
}

void RawClient::sendText(const QString &frame)
{
    m_socket.sendTextMessage(frame);
}

void RawClient::sendAuth(const QByteArray &token)
{
    QCborMap auth;
    auth.insert(QStringLiteral("type"), QStringLiteral("AUTH"));
    auth.insert(QStringLiteral("token"), QString::fromUtf8(token));
    send(auth);
}

std::optional<QCborMap> takeMessage(QList<QCborMap> &inbox, const QString &type, int timeoutMs)
{
    const auto find = [&inbox, &type] {
        for (qsizetype i = 0; i < inbox.size(); ++i) {
            if (inbox.at(i).value(QStringLiteral("type")).toString() == type)
                return i;
        }
        return qsizetype(-1);
    };
    qsizetype index = find();
    if (index < 0 && QTest::qWaitFor([&] { return (index = find()) >= 0; }, timeoutMs))
        index = find();
    if (index < 0)
        return std::nullopt;
    return inbox.takeAt(index);
}

std::optional<QCborMap> RawClient::take(const QString &type, int timeoutMs)
{
    return takeMessage(m_inbox, type, timeoutMs);
}

std::optional<QCborMap> RawClient::takeAck(int timeoutMs)
{
    const auto first = take(QStringLiteral("OP_ACK"), timeoutMs);
    const auto second = first ? take(QStringLiteral("OP_ACK"), timeoutMs) : std::nullopt;
    if (!second)
        return std::nullopt;
    const QString kPayload = QStringLiteral("payload");
    const QString kResults = QStringLiteral("results");
    const QString kLastId = QStringLiteral("lastId");
    QCborMap payload = first->value(kPayload).toMap();
    const QCborMap last = second->value(kPayload).toMap();
    const QString lastId = payload.value(kLastId).toString();
    QCborArray results = payload.value(kResults).toArray();
    const QCborArray lastResults = last.value(kResults).toArray();
    if (last.value(kLastId).toString() != lastId || lastResults.size() != 1
        || lastResults.at(0).toMap().value(QStringLiteral("opId")).toString() != lastId)
        return std::nullopt;
    for (const QCborValue &result : std::as_const(results)) {
        if (result.toMap().value(QStringLiteral("opId")).toString() == lastId)
            return std::nullopt;
    }
    results.append(lastResults.at(0));
    payload.insert(kResults, results);
    QCborMap merged = *first;
    merged.insert(kPayload, payload);
    return merged;
}

bool RawClient::has(const QString &type) const
{
    return std::any_of(m_inbox.cbegin(), m_inbox.cend(),
        [&](const QCborMap &m) { return m.value(QStringLiteral("type")).toString() == type; });
}

bool RawClient::waitForDisconnected(int timeoutMs)
{
    return m_disconnected || QTest::qWaitFor([this] { return m_disconnected; }, timeoutMs);
}

bool RawClient::isConnected() const
{
    return m_socket.state() == QAbstractSocket::ConnectedState;
}

void RawClient::close()
{
    m_socket.close();
}

void RawClient::onBinary(const QByteArray &frame)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (decoded.status != protocol::FrameDecodeResult::Ok) {
        QCborMap broken;
        broken.insert(QStringLiteral("type"), QStringLiteral("<undecodable>"));
        deliver(broken);
        return;
    }
    if (decoded.type == u"BATCH") {
        const auto inner = protocol::BatchContainer::decode(decoded.message);
        for (const QByteArray &bytes : inner.messages)
            onBinary(bytes);
        return;
    }
    deliver(decoded.message);
}

void RawClient::deliver(const QCborMap &message)
{
    m_inbox.append(message);
    m_receivedTypes.append(message.value(QStringLiteral("type")).toString());
    Q_EMIT messageReceived(message);
}

std::unique_ptr<RawClient> RawClient::authenticated(
    quint16 port, const QString &user, const QStringList &roles)
{
    auto client = std::make_unique<RawClient>();
    if (!client->connectAndAuthenticate(port, TestTokens::userToken(kTestSecret, user, roles)))
        return nullptr;
    return client;
}

QCborMap RawClient::payloadOf(const std::optional<QCborMap> &message)
{
    return message ? message->value(QStringLiteral("payload")).toMap() : QCborMap();
}

std::optional<QSet<QString>> RawClient::keysOf(quint16 port, const QString &mapName, int timeoutMs)
{
    const auto reader = authenticated(port, QStringLiteral("reader"));
    if (!reader)
        return std::nullopt;
    reader->send(QCborMap { { QStringLiteral("type"), QStringLiteral("QUERY_SUB") },
        { QStringLiteral("payload"),
            QCborMap { { QStringLiteral("queryId"), QStringLiteral("all") },
                { QStringLiteral("mapName"), mapName },
                { QStringLiteral("query"), QCborMap {} } } } });
    const auto response = reader->take(QStringLiteral("QUERY_RESP"), timeoutMs);
    if (!response)
        return std::nullopt;
    QSet<QString> keys;
    for (const QCborValue &result : payloadOf(*response).value(QStringLiteral("results")).toArray())
        keys.insert(result.toMap().value(QStringLiteral("key")).toString());
    return keys;
}

bool RawClient::roundTrip(int timeoutMs)
{
    send(QCborMap {
        { QStringLiteral("type"), QStringLiteral("PING") }, { QStringLiteral("timestamp"), 1 } });
    return take(QStringLiteral("PONG"), timeoutMs).has_value();
}

} // namespace wingman::test

#include "FillClient.h"

#include "MsgReader.h"
#include "protocol/Wire.h"

#include <QCborMap>
#include <QWebSocket>

#include <algorithm>

namespace wingman::bench {

FillClient::FillClient(int index, const QByteArray &token, const QString &mapName, int batch,
    int window, quint64 records, QObject *parent)
    : QObject(parent)
    , m_index(index)
    , m_token(token)
    , m_window(window)
    , m_records(records)
    , m_fullBatch(quint64(batch))
    , m_encoder(index, mapName, batch)
    , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
{
    if (const quint64 rest = records % m_fullBatch; rest != 0)
        m_lastEncoder.emplace(index, mapName, int(rest));
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &FillClient::onFrame);
    connect(m_socket, &QWebSocket::disconnected, this, [this] {
        fail(QStringLiteral("connection closed (close code %1 %2)")
                 .arg(int(m_socket->closeCode()))
                 .arg(m_socket->closeReason()));
    });
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        [this] { fail(m_socket->errorString()); });
}

void FillClient::open(const QUrl &url)
{
    if (m_records == 0) {
        m_closed = true;
        Q_EMIT done();
        return;
    }
    m_socket->open(url);
}

void FillClient::close()
{
    m_closed = true;
    m_socket->abort();
}

void FillClient::fail(const QString &reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_socket->abort();
    Q_EMIT failed(QStringLiteral("fill connection %1: %2").arg(m_index).arg(reason));
}

void FillClient::onFrame(const QByteArray &frame)
{
    handleMessage(std::string_view(frame.constData(), size_t(frame.size())), 0);
}

void FillClient::handleMessage(std::string_view message, int depth)
{
    if (m_closed)
        return; // the rest of a BATCH after the last ack or a failure
    const auto envelope = scanEnvelope(message);
    if (!envelope) {
        fail(QStringLiteral("undecodable frame from the server"));
        return;
    }
    const std::string_view type = envelope->type;
    if (type == "OP_ACK") {
        onAck(envelope->payload);
    } else if (type == "BATCH") {
        if (depth >= 2 || !forEachBatched(envelope->data, [&](std::string_view inner) {
                handleMessage(inner, depth + 1);
            }))
            fail(QStringLiteral("undecodable BATCH from the server"));
    } else if (type == "AUTH_REQUIRED") {
        m_socket->sendBinaryMessage(wire::MsgPackCodec::encode(
            QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH") },
                { QStringLiteral("token"), QString::fromUtf8(m_token) } }));
    } else if (type == "AUTH_ACK") {
        if (!m_authenticated) {
            m_authenticated = true;
            sendBatches();
        }
    } else if (type == "AUTH_FAIL" || type == "ERROR" || type == "OP_REJECTED") {
        fail(QStringLiteral("%1 %2").arg(QString::fromLatin1(type.data(), qsizetype(type.size())),
            describeFailure(decodeFully(message))));
    }
}

void FillClient::onAck(std::string_view payload)
{
    if (failedResults(payload) > 0) {
        fail(QStringLiteral("an OP_ACK reports a failed op"));
        return;
    }
    const auto field = findField(payload, "lastId");
    const std::optional<quint64> lastId = field ? opId(*field) : std::nullopt;
    if (!lastId) {
        fail(QStringLiteral("an OP_ACK without a numeric lastId"));
        return;
    }
    // The second OP_ACK of a batch's pair names a lastId already popped here: nothing to credit.
    while (!m_inFlight.empty() && m_inFlight.front() <= *lastId) {
        m_inFlight.pop_front();
        m_acked = std::min(*lastId, m_records);
    }
    if (m_acked == m_records && m_inFlight.empty()) {
        // Without a close handshake: the server's shutdown, which follows, need not wait for it.
        m_closed = true;
        m_socket->abort();
        Q_EMIT done();
        return;
    }
    sendBatches();
}

void FillClient::sendBatches()
{
    while (!m_closed && m_inFlight.size() < size_t(m_window) && m_nextId <= m_records) {
        const quint64 left = m_records - m_nextId + 1;
        const bool last = left < m_fullBatch;
        const QByteArray frame
            = last ? m_lastEncoder->encode(m_nextId) : m_encoder.encode(m_nextId);
        m_nextId += last ? left : m_fullBatch;
        m_inFlight.push_back(m_nextId - 1);
        m_socket->sendBinaryMessage(frame);
    }
}

} // namespace wingman::bench

#include "BenchClient.h"

#include "Bench.h"
#include "MsgReader.h"
#include "protocol/Wire.h"

#include <QCborMap>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <limits>

namespace wingman::bench {

using wingman::wire::MsgPackCodec;

BenchClient::BenchClient(const ClientConfig &config, ClientStats *stats, std::atomic<quint64> *acks)
    : m_config(config)
    , m_stats(stats)
    , m_acks(acks)
    , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
    , m_encoder(config.index, config.mapName, config.batch)
{
    connect(m_socket, &QWebSocket::binaryMessageReceived, this, &BenchClient::onFrame);
    connect(m_socket, &QWebSocket::connected, this, [this] { m_connected = true; });
    connect(m_socket, &QWebSocket::disconnected, this, &BenchClient::onDisconnected);
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        &BenchClient::onSocketError);
}

void BenchClient::open(const QUrl &url)
{
    m_url = url;
    m_socket->open(url);
}

void BenchClient::startLoad(const RunClock &clock)
{
    m_clock = clock;
    m_state = State::Loading;
    QTimer::singleShot(msUntil(clock.measureEnd), Qt::PreciseTimer, this, &BenchClient::endLoad);
    if (isWriter())
        sendBatches();
}

void BenchClient::stop()
{
    m_state = State::Closed;
    m_socket->abort();
}

QString BenchClient::name() const
{
    return QStringLiteral("%1 %2")
        .arg(isWriter() ? QStringLiteral("writer") : QStringLiteral("subscriber"))
        .arg(m_config.index);
}

void BenchClient::fail(const QString &reason)
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_socket->abort();
    Q_EMIT failed(QStringLiteral("%1: %2").arg(name(), reason));
}

void BenchClient::onSocketError(QAbstractSocket::SocketError)
{
    if (!m_connected)
        failToConnect();
}

void BenchClient::failToConnect()
{
    fail(QStringLiteral("cannot connect to %1: %2").arg(m_url.toString(), m_socket->errorString()));
}

void BenchClient::onDisconnected()
{
    if (m_state == State::Closed)
        return;
    if (!m_connected) {
        failToConnect();
        return;
    }
    QString reason = QStringLiteral("connection closed by the server (close code %1%2)")
                         .arg(int(m_socket->closeCode()))
                         .arg(m_socket->closeReason().isEmpty()
                                 ? QString()
                                 : QStringLiteral(" \"%1\"").arg(m_socket->closeReason()));
    if (!m_stats->firstError.isEmpty())
        reason += QStringLiteral("; last server error: ") + m_stats->firstError;
    fail(reason);
}

void BenchClient::onFrame(const QByteArray &frame)
{
    if (m_state == State::Closed)
        return; // the controller may be reading the stats already
    m_frameWallUs = wallUs();
    handleMessage(std::string_view(frame.constData(), size_t(frame.size())), nowNs(), 0);
}

void BenchClient::handleMessage(std::string_view message, qint64 now, int depth)
{
    const auto envelope = scanEnvelope(message);
    if (!envelope) {
        ++m_stats->undecodable;
        return;
    }
    const std::string_view type = envelope->type;
    if (type == "OP_ACK") {
        handleAck(envelope->payload, now);
    } else if (type == "QUERY_UPDATE") {
        if (m_clock.inWindow(now))
            ++m_stats->queryUpdates; // carries no timestamp: counted, no lag
    } else if (type == "SERVER_EVENT") {
        if (m_clock.inWindow(now)) {
            ++m_stats->serverEvents;
            recordLag(envelope->payload);
        }
    } else if (type == "SERVER_BATCH_EVENT") {
        if (m_clock.inWindow(now)) {
            const auto events = findField(envelope->payload, "events");
            MsgReader reader(events.value_or(std::string_view()));
            const quint32 count = events ? reader.arrayHeader().value_or(0) : 0;
            m_stats->batchEventRecords += count;
            for (quint32 i = 0; i < count; ++i) {
                recordLag(reader.rest());
                if (!reader.skip())
                    break;
            }
        }
    } else if (type == "BATCH") {
        const bool ok = depth < 2 && forEachBatched(envelope->data, [&](std::string_view inner) {
            handleMessage(inner, now, depth + 1);
        });
        if (!ok)
            ++m_stats->undecodable;
    } else {
        handleControl(type, message);
    }
}

void BenchClient::recordLag(std::string_view event)
{
    const auto stamp = eventStamp(event);
    if (!stamp) {
        ++m_stats->unstampedRecords;
        return;
    }
    const qint64 lagUs = std::clamp<qint64>(
        m_frameWallUs - qint64(stamp->millis) * 1000, 0, std::numeric_limits<quint32>::max());
    m_stats->lagUs.push_back(quint32(lagUs));
    if (m_config.nodeCount > 1
        && stamp->connection % quint64(m_config.nodeCount) != quint64(m_config.node))
        m_stats->crossNodeLagUs.push_back(quint32(lagUs));
}

void BenchClient::handleControl(std::string_view type, std::string_view message)
{
    if (type == "AUTH_REQUIRED") {
        send(QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH") },
            { QStringLiteral("token"), QString::fromUtf8(m_config.token) } });
    } else if (type == "AUTH_ACK") {
        onAuthenticated();
    } else if (type == "AUTH_FAIL") {
        fail(
            QStringLiteral("authentication failed: %1").arg(describeFailure(decodeFully(message))));
    } else if (type == "ERROR") {
        ++m_stats->errors;
        recordFirstError(QStringLiteral("ERROR "), message);
    } else if (type == "OP_REJECTED") {
        ++m_stats->rejectedOps;
        recordFirstError(QStringLiteral("OP_REJECTED "), message);
    }
}

void BenchClient::recordFirstError(const QString &prefix, std::string_view message)
{
    if (!m_stats->firstError.isEmpty())
        return;
    m_stats->firstError = prefix + describeFailure(decodeFully(message));
    Q_EMIT serverErrorReceived(QStringLiteral("%1: %2").arg(name(), m_stats->firstError));
}

void BenchClient::onAuthenticated()
{
    if (m_state != State::Connecting)
        return; // a repeated AUTH_ACK
    m_state = State::Ready;
    if (!isWriter()) {
        // SYNC_INIT subscribes to the map's changes; QUERY_SUB adds QUERY_UPDATEs.
        send(QCborMap { { QStringLiteral("type"), QStringLiteral("SYNC_INIT") },
            { QStringLiteral("mapName"), m_config.mapName },
            { QStringLiteral("lastSyncTimestamp"), 0 } });
        send(QCborMap { { QStringLiteral("type"), QStringLiteral("QUERY_SUB") },
            { QStringLiteral("payload"),
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("q%1").arg(m_config.index) },
                    { QStringLiteral("mapName"), m_config.mapName },
                    { QStringLiteral("query"), m_config.query } } } });
    }
    Q_EMIT authenticated();
}

void BenchClient::send(const QCborMap &message)
{
    m_socket->sendBinaryMessage(wire::MsgPackCodec::encode(message));
}

void BenchClient::sendBatches()
{
    while (m_state == State::Loading && m_inFlight.size() < size_t(m_config.window)) {
        const QByteArray frame = m_encoder.encode(m_nextId);
        m_nextId += quint64(m_config.batch);
        m_inFlight.push_back({ m_nextId - 1, nowNs() });
        m_socket->sendBinaryMessage(frame);
    }
}

void BenchClient::handleAck(std::string_view payload, qint64 now)
{
    if (!isWriter())
        return; // the baseline echo answers a subscriber's requests with OP_ACK too
    std::optional<quint64> lastId;
    if (!m_config.fifoAcks) {
        const auto field = findField(payload, "lastId");
        lastId = field ? opId(*field) : std::nullopt;
    } else if (!m_inFlight.empty()) {
        lastId = m_inFlight.front().lastId;
    }
    // Every op up to lastId is acknowledged, so earlier batches count as acked too.
    bool matched = false;
    while (lastId && !m_inFlight.empty() && m_inFlight.front().lastId <= *lastId) {
        credit(m_inFlight.front(), now);
        m_inFlight.pop_front();
        matched = true;
    }
    // The second OP_ACK of a batch's pair names a lastId already credited by the first.
    const bool pairsSecond = lastId && *lastId <= m_creditedId;
    if (matched)
        m_creditedId = *lastId;
    else if (!pairsSecond)
        ++m_stats->unmatchedAcks;
    if (!m_config.fifoAcks)
        m_stats->failedResults += failedResults(payload);
    m_acks->fetch_add(1, std::memory_order_relaxed);

    if (m_state == State::Loading)
        sendBatches();
    else if (m_state == State::Draining && m_inFlight.empty())
        finish();
}

void BenchClient::credit(const InFlight &batch, qint64 now)
{
    if (!m_clock.inWindow(now))
        return;
    m_stats->ackedOps += quint64(m_config.batch);
    ++m_stats->ackedBatches;
    m_stats->latenciesUs.push_back(
        quint32(std::min<qint64>((now - batch.sentNs) / 1000, UINT32_MAX)));
}

void BenchClient::endLoad()
{
    if (m_state != State::Loading)
        return;
    if (m_inFlight.empty()) {
        finish();
        return;
    }
    m_state = State::Draining;
    QTimer::singleShot(int(kDrainNs / kNsPerMs), this, &BenchClient::finish);
}

void BenchClient::finish()
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_socket->close();
    Q_EMIT finished();
}

} // namespace wingman::bench

#include "PrimitivesRun.h"

#include "Bench.h"
#include "SpawnedServer.h"
#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <cstdio>

namespace wingman::bench {

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");
const QString kTopic = QStringLiteral("bench-topic");

QCborMap message(const QString &type, const QCborMap &payload)
{
    return QCborMap { { kType, type }, { kPayload, payload } };
}

QString lockName(int index)
{
    return QStringLiteral("bench-lock-%1").arg(index);
}

} // namespace

PrimitivesRun::PrimitivesRun(const Options &options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_topics(options.mode == QLatin1String("topics"))
{ }

void PrimitivesRun::start()
{
    m_setupTimer = new QTimer(this);
    m_setupTimer->setSingleShot(true);
    connect(m_setupTimer, &QTimer::timeout, this,
        [this] { fail(QStringLiteral("setup did not finish within 10 s"), kExitSetup); });
    m_setupTimer->start(kSetupTimeoutMs);
    if (m_options.spawnPath.isEmpty()) {
        connectAll(m_options.url);
        return;
    }
    m_spawned = new SpawnedServer(this);
    connect(m_spawned, &SpawnedServer::failed, this, [this](const QString &reason) {
        fail(QStringLiteral("spawned server: %1").arg(reason), kExitSetup);
    });
    connect(m_spawned, &SpawnedServer::ready, this,
        [this](quint16 port) { connectAll(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port))); });
    m_spawned->start(
        m_options.spawnPath, m_options.secret, m_options.spawnStorage, m_options.spawnArguments);
}

void PrimitivesRun::connectAll(const QUrl &url)
{
    const int count = m_topics ? 1 + m_options.subscribers : m_options.connections;
    m_peers.resize(size_t(count));
    m_tokens.assign(size_t(count), 0);
    for (int i = 0; i < count; ++i) {
        auto *socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
        m_peers[size_t(i)].socket = socket;
        connect(socket, &QWebSocket::binaryMessageReceived, this,
            [this, i](const QByteArray &frame) { onFrame(i, frame); });
        connect(socket, &QWebSocket::disconnected, this, [this, i] {
            if (!m_finished)
                fail(QStringLiteral("connection %1 closed by the server").arg(i), kExitRun);
        });
        socket->open(url);
    }
}

void PrimitivesRun::onFrame(int index, const QByteArray &frame)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (!decoded.ok())
        return;
    if (decoded.type != QLatin1String("BATCH")) {
        onMessage(index, decoded.message);
        return;
    }
    const protocol::BatchDecodeResult batch = protocol::BatchContainer::decode(decoded.message);
    for (const QByteArray &inner : batch.messages) {
        const protocol::FrameDecodeResult one = protocol::Frame::decode(inner);
        if (one.ok())
            onMessage(index, one.message);
    }
}

void PrimitivesRun::onMessage(int index, const QCborMap &received)
{
    Peer &peer = m_peers[size_t(index)];
    const QString type = received.value(kType).toString();
    const QCborMap payload = received.value(kPayload).toMap();
    if (type == QLatin1String("AUTH_REQUIRED")) {
        peer.socket->sendBinaryMessage(
            protocol::Frame::encode(QCborMap { { kType, QStringLiteral("AUTH") },
                { QStringLiteral("token"), QString::fromUtf8(m_options.token) } }));
    } else if (type == QLatin1String("AUTH_ACK")) {
        if (m_topics && index > 0) {
            peer.socket->sendBinaryMessage(protocol::Frame::encode(
                message(QStringLiteral("TOPIC_SUB"), { { QStringLiteral("topic"), kTopic } })));
        }
        // The PONG says everything before it was handled.
        peer.socket->sendBinaryMessage(protocol::Frame::encode(
            QCborMap { { kType, QStringLiteral("PING") }, { QStringLiteral("timestamp"), 0 } }));
    } else if (type == QLatin1String("PONG")) {
        markReady(index);
    } else if (type == QLatin1String("AUTH_FAIL") || type == QLatin1String("ERROR")) {
        fail(QStringLiteral("server said %1: %2")
                 .arg(type,
                     QString::fromUtf8(
                         QJsonDocument(received.toJsonObject()).toJson(QJsonDocument::Compact))),
            m_loading ? kExitRun : kExitSetup);
    } else if (type == QLatin1String("TOPIC_MESSAGE")) {
        ++peer.count;
        publishMore();
    } else if (type == QLatin1String("LOCK_GRANTED")) {
        const QCborValue token = payload.value(QStringLiteral("fencingToken"));
        m_tokens[size_t(index)] = token.isDouble() ? qint64(token.toDouble()) : token.toInteger();
        peer.socket->sendBinaryMessage(
            protocol::Frame::encode(message(QStringLiteral("LOCK_RELEASE"),
                { { QStringLiteral("requestId"), QStringLiteral("r") },
                    { QStringLiteral("name"), lockName(index) },
                    { QStringLiteral("fencingToken"), double(m_tokens[size_t(index)]) } })));
    } else if (type == QLatin1String("LOCK_RELEASED")) {
        if (!payload.value(QStringLiteral("success")).toBool()) {
            fail(QStringLiteral("release of %1 refused").arg(lockName(index)), kExitRun);
            return;
        }
        ++peer.count;
        requestLock(index);
    }
}

void PrimitivesRun::markReady(int index)
{
    Peer &peer = m_peers[size_t(index)];
    if (peer.ready)
        return;
    peer.ready = true;
    if (++m_ready == int(m_peers.size()))
        beginLoad();
}

void PrimitivesRun::beginLoad()
{
    m_setupTimer->stop();
    m_loading = true;
    QTimer::singleShot(int(kWarmupNs / kNsPerMs), this, [this] {
        m_windowStart = total();
        m_windowStartNs = nowNs();
    });
    QTimer::singleShot(int(kWarmupNs / kNsPerMs) + m_options.durationS * 1000, this, [this] {
        m_windowEnd = total();
        m_windowEndNs = nowNs();
        finish();
    });
    if (m_topics) {
        publishMore();
        return;
    }
    for (int i = 0; i < int(m_peers.size()); ++i)
        requestLock(i);
}

void PrimitivesRun::publishMore()
{
    if (!m_loading || !m_topics || m_peers.size() < 2)
        return;
    quint64 slowest = m_peers[1].count;
    for (size_t i = 2; i < m_peers.size(); ++i)
        slowest = std::min(slowest, m_peers[i].count);
    const quint64 ahead = quint64(m_options.window) * quint64(m_options.batch);
    while (m_published < slowest + ahead) {
        m_peers[0].socket->sendBinaryMessage(
            protocol::Frame::encode(message(QStringLiteral("TOPIC_PUB"),
                { { QStringLiteral("topic"), kTopic },
                    { QStringLiteral("data"),
                        QCborMap { { QStringLiteral("seq"), qint64(m_published) } } } })));
        ++m_published;
    }
}

void PrimitivesRun::requestLock(int index)
{
    if (!m_loading)
        return;
    m_peers[size_t(index)].socket->sendBinaryMessage(
        protocol::Frame::encode(message(QStringLiteral("LOCK_REQUEST"),
            { { QStringLiteral("requestId"), QStringLiteral("q") },
                { QStringLiteral("name"), lockName(index) }, { QStringLiteral("ttl"), 10000 } })));
}

quint64 PrimitivesRun::total() const
{
    quint64 sum = 0;
    for (size_t i = m_topics ? 1 : 0; i < m_peers.size(); ++i)
        sum += m_peers[i].count;
    return sum;
}

void PrimitivesRun::finish()
{
    m_loading = false;
    m_finished = true;
    const double seconds = double(m_windowEndNs - m_windowStartNs) / 1e9;
    const quint64 counted = m_windowEnd - m_windowStart;
    const double rate = seconds > 0 ? double(counted) / seconds : 0;
    QJsonObject summary { { QStringLiteral("mode"), m_options.mode },
        { QStringLiteral("seconds"), seconds }, { QStringLiteral("count"), qint64(counted) },
        { QStringLiteral("perSecond"), rate } };
    if (m_topics) {
        summary.insert(QStringLiteral("subscribers"), m_options.subscribers);
        std::printf("topics: %llu TOPIC_MESSAGEs delivered to %d subscribers in %.2f s: %.0f "
                    "messages/s (%.0f publications/s)\n",
            static_cast<unsigned long long>(counted), m_options.subscribers, seconds, rate,
            m_options.subscribers > 0 ? rate / m_options.subscribers : 0.0);
    } else {
        summary.insert(QStringLiteral("connections"), m_options.connections);
        std::printf("locks: %llu acquire/release round trips on %d connections in %.2f s: %.0f "
                    "per second\n",
            static_cast<unsigned long long>(counted), m_options.connections, seconds, rate);
    }
    std::printf("SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    for (Peer &peer : m_peers)
        peer.socket->abort();
    QString problem;
    if (m_spawned)
        problem = m_spawned->stop();
    if (!problem.isEmpty())
        std::fprintf(stderr, "wingman-bench: spawned server: %s\n", qPrintable(problem));
    Q_EMIT done(counted > 0 && problem.isEmpty() ? kExitOk : kExitRun);
}

void PrimitivesRun::fail(const QString &reason, int exitCode)
{
    if (m_finished)
        return;
    m_finished = true;
    m_loading = false;
    std::fprintf(stderr, "wingman-bench: %s\n", qPrintable(reason));
    for (Peer &peer : m_peers) {
        if (peer.socket)
            peer.socket->abort();
    }
    if (m_spawned)
        m_spawned->stop();
    Q_EMIT done(exitCode);
}

} // namespace wingman::bench

#pragma once

#include "BatchEncoder.h"

#include <QAbstractSocket>
#include <QCborMap>
#include <QObject>
#include <QString>
#include <QUrl>

#include <atomic>
#include <deque>
#include <string_view>
#include <vector>

class QCborMap;
class QWebSocket;

namespace wingman::bench {

struct RunClock {
    qint64 loadStart = 0;
    qint64 measureStart = 0;
    qint64 measureEnd = 0;
    bool inWindow(qint64 t) const { return t >= measureStart && t < measureEnd; }
};

// What one connection observed inside the measured window (errors: all of the run). Written only
// by the connection's thread; read by the controller after every connection finished.
struct ClientStats {
    quint64 ackedOps = 0;
    quint64 ackedBatches = 0;
    quint64 failedResults = 0;
    quint64 rejectedOps = 0;
    quint64 unmatchedAcks = 0;
    quint64 errors = 0;
    quint64 undecodable = 0;
    quint64 serverEvents = 0;
    quint64 batchEventRecords = 0;
    quint64 queryUpdates = 0;
    std::vector<quint32> latenciesUs;
    // Event lag of every SERVER_EVENT / SERVER_BATCH_EVENT record: receipt (wall clock) minus
    // the record's timestamp millis, which the writer stamped with its wall clock when it sent
    // the batch. crossNodeLagUs: the records written through another node than this one's.
    std::vector<quint32> lagUs;
    std::vector<quint32> crossNodeLagUs;
    quint64 unstampedRecords = 0; // no key "c<conn>-…" or no timestamp millis
    QString firstError;
};

struct ClientConfig {
    enum class Role { Writer, Subscriber };
    Role role = Role::Writer;
    int index = 0;
    QByteArray token;
    QString mapName;
    int batch = 1;
    int window = 1;
    int node = 0; // index of the URL this connection goes to
    int nodeCount = 1; // URLs driven
    bool fifoAcks = false; // the baseline echo answers in order with a fixed lastId
    QCborMap query; // a subscriber's live query
};

// One WebSocket connection: authenticates, then writes batches (writer) or counts the records
// the server pushes (subscriber).
class BenchClient : public QObject
{
    Q_OBJECT
public:
    BenchClient(const ClientConfig &config, ClientStats *stats, std::atomic<quint64> *acks);
    void open(const QUrl &url);
    void startLoad(const RunClock &clock);
    // Ends the connection now, without waiting for acks.
    void stop();

Q_SIGNALS:
    void authenticated();
    void failed(const QString &reason);
    void finished();
    // The first ERROR or OP_REJECTED this connection received, for the no-acks diagnosis.
    void serverErrorReceived(const QString &description);

private:
    enum class State { Connecting, Ready, Loading, Draining, Closed };
    struct InFlight {
        quint64 lastId;
        qint64 sentNs;
    };

    bool isWriter() const { return m_config.role == ClientConfig::Role::Writer; }
    QString name() const;
    void fail(const QString &reason);
    void onSocketError(QAbstractSocket::SocketError);
    void failToConnect();
    void onDisconnected();
    void onFrame(const QByteArray &frame);
    void handleMessage(std::string_view message, qint64 now, int depth);
    // Messages off the hot path, decoded in full.
    // One SERVER_EVENT payload (an event map): its lag, when it is a bench record.
    void recordLag(std::string_view event);
    void handleControl(std::string_view type, std::string_view message);
    void recordFirstError(const QString &prefix, std::string_view message);
    void onAuthenticated();
    void send(const QCborMap &message);
    void sendBatches();
    void handleAck(std::string_view payload, qint64 now);
    void credit(const InFlight &batch, qint64 now);
    void endLoad();
    void finish();

    ClientConfig m_config;
    ClientStats *m_stats;
    std::atomic<quint64> *m_acks;
    QWebSocket *m_socket;
    BatchEncoder m_encoder;
    QUrl m_url;
    RunClock m_clock;
    State m_state = State::Connecting;
    bool m_connected = false; // the WebSocket handshake completed
    qint64 m_frameWallUs = 0; // wall clock when the frame being handled arrived
    std::deque<InFlight> m_inFlight;
    quint64 m_nextId = 1;
    quint64 m_creditedId = 0; // the greatest lastId that credited a batch
};

} // namespace wingman::bench

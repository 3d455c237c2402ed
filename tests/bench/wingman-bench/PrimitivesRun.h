#pragma once

#include "Options.h"

#include <QCborMap>
#include <QObject>
#include <QUrl>

#include <vector>

class QTimer;
class QWebSocket;

namespace wingman::bench {

class SpawnedServer;

// The --mode topics and --mode locks runs (docs/protocol.md "Topics", "Locks"):
// - topics: one publisher and S subscribers of one topic; the publisher keeps at most W × B
//   publications ahead of the slowest subscriber; reports TOPIC_MESSAGEs delivered per second
//   (all subscribers together).
// - locks: C connections, each acquiring and releasing a lock of its own name in a loop
//   (LOCK_REQUEST → LOCK_GRANTED → LOCK_RELEASE → LOCK_RELEASED); reports cycles per second.
// One thread, generic decoding: these are round-trip figures, not the write path's.
class PrimitivesRun : public QObject
{
    Q_OBJECT
public:
    explicit PrimitivesRun(const Options &options, QObject *parent = nullptr);

    void start();

Q_SIGNALS:
    void done(int exitCode);

private:
    struct Peer {
        QWebSocket *socket = nullptr;
        bool ready = false;
        quint64 count = 0; // topics: messages received; locks: cycles completed
    };

    void connectAll(const QUrl &url);
    void onFrame(int index, const QByteArray &frame);
    void onMessage(int index, const QCborMap &message);
    void markReady(int index);
    void beginLoad();
    void publishMore();
    void requestLock(int index);
    quint64 total() const;
    void finish();
    void fail(const QString &reason, int exitCode);

    Options m_options;
    bool m_topics = true;
    SpawnedServer *m_spawned = nullptr;
    std::vector<Peer> m_peers; // topics: [0] publishes, the rest subscribe
    std::vector<qint64> m_tokens;
    int m_ready = 0;
    bool m_loading = false;
    bool m_finished = false;
    quint64 m_published = 0;
    quint64 m_windowStart = 0;
    quint64 m_windowEnd = 0;
    qint64 m_windowStartNs = 0;
    qint64 m_windowEndNs = 0;
    QTimer *m_setupTimer = nullptr;
};

} // namespace wingman::bench

#pragma once

#include "crdt/Timestamp.h"

#include <QString>
#include <functional>

namespace wingman::crdt {

// Hybrid logical clock of one node (docs/core.md "Hybrid logical clock"). Shared by every map of
// the node, which stamps local writes with now() and feeds remote timestamps to update(). The clock
// source is injectable so tests can move time. Not thread-safe: use it from one thread.
class Hlc
{
public:
    // Epoch milliseconds.
    using Clock = std::function<qint64()>;

    static constexpr qint64 kDefaultMaxDriftMs = 60000;

    // Precondition: isValidNodeId(nodeId) (the server validates its configuration).
    // An empty clock means the system clock.
    explicit Hlc(const QString &nodeId, Clock clock = {});

    const QString &nodeId() const { return m_nodeId; }
    // For a node whose id is known only once its storage has opened; before it issues timestamps.
    void setNodeId(const QString &nodeId) { m_nodeId = nodeId; }

    // A timestamp greater than every one this clock has issued or seen.
    Timestamp now();
    // Advances the clock past remote. A remote clock ahead of ours by more than maxDriftMs is
    // logged; in strict mode it is rejected instead: returns false and the clock is unchanged.
    bool update(const Timestamp &remote);
    Timestamp lastTimestamp() const { return Timestamp { m_lastMillis, m_lastCounter, m_nodeId }; }

    // The clock source's reading, which TTL checks compare against.
    qint64 clockMillis() const { return m_clock(); }

    bool isStrict() const { return m_strict; }
    void setStrict(bool strict) { m_strict = strict; }
    qint64 maxDriftMs() const { return m_maxDriftMs; }
    void setMaxDriftMs(qint64 maxDriftMs) { m_maxDriftMs = maxDriftMs; }

    // Non-empty and free of ':' (the timestamp string form splits on it).
    static bool isValidNodeId(QStringView nodeId);
    static qint64 systemMillis();

private:
    void logDrift(const Timestamp &remote, qint64 wall);
    void setLast(qint64 millis, qint64 counter);

    QString m_nodeId;
    Clock m_clock;
    qint64 m_lastMillis = 0;
    qint32 m_lastCounter = 0;
    bool m_strict = false;
    qint64 m_maxDriftMs = kDefaultMaxDriftMs;
    bool m_driftLogged = false;
    qint64 m_lastDriftLogMillis = 0;
    qint64 m_suppressedDriftLogs = 0;
};

} // namespace wingman::crdt

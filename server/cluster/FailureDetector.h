#pragma once

#include <QCborMap>
#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QStringList>
#include <QTimer>

#include <functional>

namespace wingman::cluster {

// SWIM-style probing (docs/cluster.md §2): every interval a PING to every member; no ACK within
// half the interval (or no link) → PING_REQ to up to two other members, which probe the target
// and relay its ACK; no ACK by the probe's deadline → probeFailed. The deadline is the interval's
// end, or twice the member's round trip (the larger of the last and the smoothed one) when that
// is later (at most four intervals), so a slow link is not taken for a dead one; until then the
// probe stays in flight and the member gets no new PING. A member heard from on its link since the
// PING went out is talking, so its ACK is on the way: the verdict waits one more interval, once
// (a link whose latency just jumped has no round trip sample yet). What a failed probe means
// (suspect, then down) is the membership's business.
class FailureDetector : public QObject
{
    Q_OBJECT
public:
    struct Hooks {
        std::function<QStringList()> targets; // members to probe
        std::function<QStringList(const QString &target)> relays; // who may probe target for us
        std::function<bool(const QString &nodeId, const QCborMap &frame)> send; // false: no link
        // ms since anything arrived from nodeId on its link, -1 without a link; may be unset.
        std::function<qint64(const QString &nodeId)> silentMs;
    };

    explicit FailureDetector(Hooks hooks, QObject *parent = nullptr);

    void start(int intervalMs);
    void stop();

    // PING, ACK and PING_REQ frames from a member.
    void handlePing(const QString &from, const QCborMap &frame);
    void handleAck(const QString &from, const QCborMap &frame);
    void handlePingReq(const QString &from, const QCborMap &frame);

    // Round trip of the last direct PING/ACK with nodeId; -1 when none.
    double rttMs(const QString &nodeId) const { return m_rttMs.value(nodeId, -1); }
    // How long a probe of nodeId may wait for its ACK.
    qint64 deadlineMs(const QString &nodeId) const;
    quint64 probeFailures(const QString &nodeId) const { return m_failures.value(nodeId); }

Q_SIGNALS:
    void probeFailed(const QString &nodeId);

private:
    struct Probe {
        quint64 seq = 0;
        QElapsedTimer sent;
        bool acked = false;
        bool indirect = false;
        bool extended = false; // heard from after its deadline: one more interval
    };
    struct Relay {
        QString requester;
        qint64 requesterSeq = 0;
        QString target;
        QElapsedTimer since;
    };

    void tick();
    void probeIndirectly(const QString &target, Probe &probe);

    Hooks m_hooks;
    int m_intervalMs = 500;
    QTimer m_tick;
    QTimer m_half;
    quint64 m_nextSeq = 0;
    QHash<QString, Probe> m_probes; // this round's, by target
    QHash<quint64, Relay> m_relays; // our PING seq → whom to relay its ACK to
    QHash<QString, double> m_rttMs;
    QHash<QString, double> m_smoothedRttMs; // weight 1/8 per sample, as TCP's SRTT
    QHash<QString, quint64> m_failures;
};

} // namespace wingman::cluster

#include "cluster/FailureDetector.h"

#include <QRandomGenerator>

#include <algorithm>
#include <utility>

namespace wingman::cluster {

namespace {

const QString kType = QStringLiteral("type");
const QString kSeq = QStringLiteral("seq");
const QString kTarget = QStringLiteral("target");

qint64 seqOf(const QCborMap &frame)
{
    const QCborValue seq = frame.value(kSeq);
    return seq.isDouble() ? qint64(seq.toDouble()) : seq.toInteger(-1);
}

} // namespace

FailureDetector::FailureDetector(Hooks hooks, QObject *parent)
    : QObject(parent)
    , m_hooks(std::move(hooks))
{
    // Precise: a coarse tick may come 5 % early, and a probe due at the interval's end would
    // then wait a whole interval more.
    m_tick.setTimerType(Qt::PreciseTimer);
    connect(&m_tick, &QTimer::timeout, this, &FailureDetector::tick);
    m_half.setTimerType(Qt::PreciseTimer);
    m_half.setSingleShot(true);
    connect(&m_half, &QTimer::timeout, this, [this] {
        for (auto it = m_probes.begin(); it != m_probes.end(); ++it) {
            if (!it->acked && !it->indirect)
                probeIndirectly(it.key(), *it);
        }
    });
}

void FailureDetector::start(int intervalMs)
{
    m_intervalMs = std::max(intervalMs, 10);
    m_tick.start(m_intervalMs);
    tick();
}

void FailureDetector::stop()
{
    m_tick.stop();
    m_half.stop();
    m_probes.clear();
    m_relays.clear();
}

void FailureDetector::tick()
{
    auto previous = std::exchange(m_probes, {});
    for (auto it = previous.begin(); it != previous.end(); ++it) {
        if (it->acked)
            continue;
        // The probe went out a little after its tick began: a probe due at the interval's end
        // fails at this tick, not the next one.
        const qint64 elapsed = it->sent.elapsed();
        const qint64 due = deadlineMs(it.key()) + (it->extended ? m_intervalMs : 0);
        bool keep = elapsed + m_intervalMs / 16 < due;
        if (!keep && !it->extended && m_hooks.silentMs) {
            const qint64 silent = m_hooks.silentMs(it.key());
            keep = it->extended = silent >= 0 && silent < elapsed;
        }
        if (keep) {
            m_probes.insert(it.key(), std::move(*it));
            continue;
        }
        ++m_failures[it.key()];
        Q_EMIT probeFailed(it.key());
    }
    for (auto it = m_relays.begin(); it != m_relays.end();) {
        if (it->since.elapsed() > 2 * m_intervalMs)
            it = m_relays.erase(it);
        else
            ++it;
    }
    for (const QString &target : m_hooks.targets()) {
        if (m_probes.contains(target))
            continue; // still within its deadline
        Probe &probe = m_probes[target];
        probe.seq = ++m_nextSeq;
        probe.sent.start();
        const QCborMap ping { { kType, QStringLiteral("PING") }, { kSeq, qint64(probe.seq) } };
        if (!m_hooks.send(target, ping))
            probeIndirectly(target, probe);
    }
    m_half.start(m_intervalMs / 2);
}

qint64 FailureDetector::deadlineMs(const QString &nodeId) const
{
    // The last sample catches a link that just became slow; the smoothed one keeps a link that
    // is slow at times from being judged by its one fast answer.
    const double rtt = std::max(m_smoothedRttMs.value(nodeId, 0), m_rttMs.value(nodeId, 0));
    return std::clamp(qint64(2 * rtt), qint64(m_intervalMs), qint64(4) * m_intervalMs);
}

void FailureDetector::probeIndirectly(const QString &target, Probe &probe)
{
    probe.indirect = true;
    QStringList relays = m_hooks.relays(target);
    const qsizetype wanted = std::min<qsizetype>(2, relays.size());
    for (qsizetype i = 0; i < wanted; ++i) {
        const qsizetype pick = i + QRandomGenerator::global()->bounded(relays.size() - i);
        relays.swapItemsAt(i, pick);
        m_hooks.send(relays.at(i),
            QCborMap { { kType, QStringLiteral("PING_REQ") }, { kSeq, qint64(probe.seq) },
                { kTarget, target } });
    }
}

void FailureDetector::handlePing(const QString &from, const QCborMap &frame)
{
    m_hooks.send(from, QCborMap { { kType, QStringLiteral("ACK") }, { kSeq, seqOf(frame) } });
}

void FailureDetector::handleAck(const QString &from, const QCborMap &frame)
{
    const qint64 seq = seqOf(frame);
    const auto relay = m_relays.find(quint64(seq));
    if (relay != m_relays.end()) {
        if (relay->target == from) {
            m_hooks.send(relay->requester,
                QCborMap { { kType, QStringLiteral("ACK") }, { kSeq, relay->requesterSeq },
                    { kTarget, from } });
        }
        m_relays.erase(relay);
        return;
    }
    for (auto it = m_probes.begin(); it != m_probes.end(); ++it) {
        if (qint64(it->seq) != seq)
            continue;
        const QString target = frame.value(kTarget).toString();
        if (from != it.key() && target != it.key())
            return;
        it->acked = true;
        if (from == it.key()) {
            const double rtt = double(it->sent.nsecsElapsed()) / 1e6;
            m_rttMs[from] = rtt;
            const auto smoothed = m_smoothedRttMs.find(from);
            if (smoothed == m_smoothedRttMs.end())
                m_smoothedRttMs.insert(from, rtt);
            else
                *smoothed += (rtt - *smoothed) / 8;
        }
        return;
    }
}

void FailureDetector::handlePingReq(const QString &from, const QCborMap &frame)
{
    const QString target = frame.value(kTarget).toString();
    if (target.isEmpty() || target == from)
        return;
    const quint64 seq = ++m_nextSeq;
    if (!m_hooks.send(
            target, QCborMap { { kType, QStringLiteral("PING") }, { kSeq, qint64(seq) } }))
        return;
    Relay &relay = m_relays[seq];
    relay.requester = from;
    relay.requesterSeq = seqOf(frame);
    relay.target = target;
    relay.since.start();
}

} // namespace wingman::cluster

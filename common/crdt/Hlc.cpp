#include "crdt/Hlc.h"

#include "crdt/CrdtLogging.h"

#include <QDateTime>
#include <algorithm>
#include <limits>

namespace wingman::crdt {

namespace {

// A peer whose clock runs ahead would otherwise log on every merge.
constexpr qint64 kDriftLogIntervalMs = 1000;

} // namespace

Hlc::Hlc(const QString &nodeId, Clock clock)
    : m_nodeId(nodeId)
    , m_clock(clock ? std::move(clock) : Clock(&Hlc::systemMillis))
{ }

Timestamp Hlc::now()
{
    const qint64 wall = m_clock();
    if (wall > m_lastMillis)
        setLast(wall, 0);
    else
        setLast(m_lastMillis, qint64(m_lastCounter) + 1);
    return lastTimestamp();
}

bool Hlc::update(const Timestamp &remote)
{
    const qint64 wall = m_clock();
    if (remote.millis > wall && remote.millis - wall > m_maxDriftMs) {
        logDrift(remote, wall);
        if (m_strict)
            return false;
    }

    const qint64 millis = std::max({ m_lastMillis, wall, remote.millis });
    qint64 counter = 0;
    if (millis == m_lastMillis && millis == remote.millis)
        counter = qint64(std::max(m_lastCounter, remote.counter)) + 1;
    else if (millis == m_lastMillis)
        counter = qint64(m_lastCounter) + 1;
    else if (millis == remote.millis)
        counter = qint64(remote.counter) + 1;
    setLast(millis, counter);
    return true;
}

void Hlc::logDrift(const Timestamp &remote, qint64 wall)
{
    if (m_driftLogged && wall >= m_lastDriftLogMillis
        && wall - m_lastDriftLogMillis < kDriftLogIntervalMs) {
        ++m_suppressedDriftLogs;
        return;
    }
    qCWarning(lcCrdt).nospace().noquote()
        << "clock drift: timestamp " << remote.toString() << " is " << (remote.millis - wall)
        << " ms ahead of the local clock (limit " << m_maxDriftMs << " ms)"
        << (m_strict ? ", rejected" : "") << "; " << m_suppressedDriftLogs
        << " similar warnings suppressed";
    m_driftLogged = true;
    m_lastDriftLogMillis = wall;
    m_suppressedDriftLogs = 0;
}

void Hlc::setLast(qint64 millis, qint64 counter)
{
    // A counter past qint32 (only reachable through a hostile remote) moves on to the next
    // millisecond, which keeps timestamps unique and increasing.
    if (counter > std::numeric_limits<qint32>::max()
        && millis < std::numeric_limits<qint64>::max()) {
        ++millis;
        counter = 0;
    }
    m_lastMillis = millis;
    m_lastCounter
        = static_cast<qint32>(std::min<qint64>(counter, std::numeric_limits<qint32>::max()));
}

bool Hlc::isValidNodeId(QStringView nodeId)
{
    return !nodeId.isEmpty() && !nodeId.contains(u':');
}

qint64 Hlc::systemMillis()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace wingman::crdt

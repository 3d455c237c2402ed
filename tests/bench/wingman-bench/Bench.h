#pragma once

#include <QtGlobal>

#include <algorithm>
#include <chrono>

namespace wingman::bench {

// Exit codes: the run's outcome, for scripts.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitSetup = 2; // spawn, connect or authentication failed
constexpr int kExitRun = 3; // no acks, or a connection lost during the load

constexpr qint64 kNsPerMs = 1'000'000;
constexpr qint64 kWarmupNs = 1'000 * kNsPerMs;
constexpr qint64 kDrainNs = 2'000 * kNsPerMs; // wait for in-flight acks after the load
constexpr qint64 kNoAckNs = 3'000 * kNsPerMs; // zero acks this long after the load began: fail
constexpr int kSetupTimeoutMs = 10'000; // spawn, connect and authenticate, each
constexpr int kHardStopMs = 5'000; // after the window, report whatever finished

inline qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Wall-clock microseconds since the epoch, to compare with the millis writers stamp records with.
inline qint64 wallUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch())
        .count();
}

inline int msUntil(qint64 deadlineNs)
{
    return int(std::max<qint64>(0, (deadlineNs - nowNs()) / kNsPerMs));
}

} // namespace wingman::bench

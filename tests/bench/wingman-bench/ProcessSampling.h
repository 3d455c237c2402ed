#pragma once

#include <QString>

namespace wingman::bench {

// utime + stime in clock ticks, from a /proc/.../stat file; -1 when unreadable.
qint64 cpuTicks(const QString &statPath);
// VmRSS in KiB; -1 when unreadable.
qint64 rssKib(qint64 pid);
// The 1-minute load average: other work on the machine skews every figure.
double loadAverage();
// User and system CPU time of this process, in µs.
qint64 ownCpuUs();

} // namespace wingman::bench

#include "processors/Watchdog.h"

#include <QJSEngine>

#include <cstdio>
#include <unistd.h>

namespace wingman::processors {

namespace {

// How often running scripts are looked at: a small share of the 100 ms default limit.
constexpr std::chrono::milliseconds kPollInterval(2);

} // namespace

Watchdog::Watchdog()
    : m_thread([this] { run(); })
{ }

Watchdog::~Watchdog()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

qint64 Watchdog::residentBytes()
{
    std::FILE *file = std::fopen("/proc/self/statm", "r");
    if (!file)
        return 0;
    long long size = 0;
    long long resident = 0;
    const int read = std::fscanf(file, "%lld %lld", &size, &resident);
    std::fclose(file);
    if (read != 2)
        return 0;
    return qint64(resident) * qint64(sysconf(_SC_PAGESIZE));
}

quint64 Watchdog::arm(QJSEngine *engine, int timeoutMs, qint64 memoryBytes)
{
    Watch watch;
    watch.engine = engine;
    watch.deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    watch.memoryBytes = memoryBytes;
    watch.baseline = memoryBytes > 0 ? residentBytes() : 0;
    quint64 ticket = 0;
    {
        const std::lock_guard lock(m_mutex);
        ticket = m_nextTicket++;
        m_watches.emplace(ticket, watch);
    }
    m_wake.notify_all();
    return ticket;
}

Watchdog::Verdict Watchdog::disarm(quint64 ticket)
{
    const std::lock_guard lock(m_mutex);
    const auto it = m_watches.find(ticket);
    if (it == m_watches.end())
        return Verdict::None;
    const Verdict verdict = it->second.verdict;
    m_watches.erase(it);
    return verdict;
}

void Watchdog::run()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [this] { return m_stop || !m_watches.empty(); });
        if (m_stop)
            return;
        m_wake.wait_for(lock, kPollInterval, [this] { return m_stop; });
        if (m_stop)
            return;
        const Clock::time_point now = Clock::now();
        qint64 resident = -1;
        for (auto &[ticket, watch] : m_watches) {
            if (watch.verdict != Verdict::None)
                continue;
            if (now >= watch.deadline) {
                watch.verdict = Verdict::Timeout;
            } else if (watch.memoryBytes > 0) {
                if (resident < 0)
                    resident = residentBytes();
                if (resident - watch.baseline > watch.memoryBytes)
                    watch.verdict = Verdict::Memory;
            }
            if (watch.verdict != Verdict::None)
                watch.engine->setInterrupted(true);
        }
    }
}

} // namespace wingman::processors

#pragma once

#include <QtGlobal>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

class QJSEngine;

namespace wingman::processors {

// Stops scripts that run too long or grow the process too much: a thread of its own interrupts
// a watched engine (QJSEngine::setInterrupted, safe from any thread) once its deadline passes or
// the process's resident memory grew by more than the allowance since the call began. The
// memory check is coarse (the whole process, polled), which is enough to stop a script that
// allocates without bound before it takes the node down.
class Watchdog
{
public:
    enum class Verdict { None, Timeout, Memory };

    Watchdog();
    ~Watchdog();
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

    // Watches engine until disarm(ticket). memoryBytes 0: no memory check.
    quint64 arm(QJSEngine *engine, int timeoutMs, qint64 memoryBytes);
    // Stops watching; whether (and why) the engine was interrupted. Never interrupts afterwards.
    Verdict disarm(quint64 ticket);

    // The process's resident set size in bytes, 0 where it cannot be read.
    static qint64 residentBytes();

private:
    using Clock = std::chrono::steady_clock;
    struct Watch {
        QJSEngine *engine = nullptr;
        Clock::time_point deadline;
        qint64 baseline = 0;
        qint64 memoryBytes = 0;
        Verdict verdict = Verdict::None;
    };

    void run();

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::map<quint64, Watch> m_watches;
    quint64 m_nextTicket = 1;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace wingman::processors

#pragma once

#include "processors/Sandbox.h"
#include "processors/Watchdog.h"

#include <QObject>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace wingman::processors {

// Worker threads, each with its own Sandbox, so that scripts never hold up the event loop: a
// script that loops forever costs one worker until the watchdog stops it, while every other
// client is served. One Watchdog serves them all, and the event-loop thread's own sandbox
// (local()) for the short synchronous calls that cannot wait (conflict resolvers on a write).
class ScriptPool
{
public:
    // The work done on a worker; what it returns runs afterwards on the context's thread.
    using Work = std::function<std::function<void()>(Sandbox &)>;

    ScriptPool(int threads, ScriptLimits limits);
    // Drops queued work, waits for the running scripts (bounded by the time limit).
    ~ScriptPool();
    ScriptPool(const ScriptPool &) = delete;
    ScriptPool &operator=(const ScriptPool &) = delete;

    // context must outlive the pool (it owns it): the continuation is posted to it.
    void submit(QObject *context, Work work);
    // The sandbox of the thread that created the pool.
    Sandbox &local();

private:
    struct Task {
        QObject *context = nullptr;
        Work work;
    };
    void workerLoop();

    ScriptLimits m_limits;
    Watchdog m_watchdog;
    std::unique_ptr<Sandbox> m_local;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Task> m_tasks;
    bool m_stop = false;
    std::vector<std::thread> m_workers;
};

} // namespace wingman::processors

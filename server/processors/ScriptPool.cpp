#include "processors/ScriptPool.h"

#include <QMetaObject>

#include <optional>

namespace wingman::processors {

ScriptPool::ScriptPool(int threads, ScriptLimits limits)
    : m_limits(limits)
{
    for (int i = 0; i < qMax(1, threads); ++i)
        m_workers.emplace_back([this] { workerLoop(); });
}

ScriptPool::~ScriptPool()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
        m_tasks.clear();
    }
    m_wake.notify_all();
    for (std::thread &worker : m_workers)
        worker.join();
}

void ScriptPool::submit(QObject *context, Work work)
{
    {
        const std::lock_guard lock(m_mutex);
        m_tasks.push_back(Task { context, std::move(work) });
    }
    m_wake.notify_one();
}

Sandbox &ScriptPool::local()
{
    if (!m_local)
        m_local = std::make_unique<Sandbox>(m_watchdog, m_limits);
    return *m_local;
}

void ScriptPool::workerLoop()
{
    // Built on the worker, on its first task: an engine belongs to the thread that made it.
    std::optional<Sandbox> sandbox;
    for (;;) {
        Task task;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stop || !m_tasks.empty(); });
            if (m_stop)
                return;
            task = std::move(m_tasks.front());
            m_tasks.pop_front();
        }
        if (!sandbox)
            sandbox.emplace(m_watchdog, m_limits);
        std::function<void()> then = task.work(*sandbox);
        if (then)
            QMetaObject::invokeMethod(task.context, std::move(then), Qt::QueuedConnection);
    }
}

} // namespace wingman::processors

#pragma once

#include <QString>

#include <condition_variable>
#include <mutex>
#include <thread>

struct sqlite3;

namespace wingman::storage {

// Copies a WAL database's committed pages back into the database file on a thread and
// connection of its own, so that the writer's commits do not wait for it. SQLite's automatic
// checkpoint runs inside the commit that crosses its threshold: with every ack after its commit,
// that commit's acks waited for a 40 MB copy and an fsync (ack p99 229 ms against 32 ms without
// checkpoints in wingman-bench).
//
// attach() replaces the writer connection's automatic checkpoint with a hook that asks this
// thread for a PASSIVE checkpoint (which never blocks the writer) once the WAL holds
// checkpointPages. PASSIVE checkpoints cannot rewind the WAL while the writer keeps appending,
// so when it reaches maxPages the writer checkpoints itself (RESTART), and the WAL stays
// bounded under any load.
class SqliteCheckpointer
{
public:
    SqliteCheckpointer(QString path, int checkpointPages, int maxPages);
    // Stops the thread after the checkpoint it is running, and closes its connection.
    ~SqliteCheckpointer();
    SqliteCheckpointer(const SqliteCheckpointer &) = delete;
    SqliteCheckpointer &operator=(const SqliteCheckpointer &) = delete;

    // Installs the hook on writer, which must outlive this object or be detached first. writer
    // needs a busy timeout (Qt's QSQLITE sets 5 s), so that its own checkpoint waits for one
    // running here instead of giving up.
    void attach(sqlite3 *writer);
    void detach();

    // Checkpoints this thread has finished so far.
    int passiveCount() const;

private:
    static int onCommit(void *self, sqlite3 *db, const char *schema, int walPages);
    void run();

    const QString m_path;
    const int m_checkpointPages;
    const int m_maxPages;
    sqlite3 *m_writer = nullptr;

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_requested = false;
    bool m_stop = false;
    int m_passive = 0;
    std::thread m_thread;
};

} // namespace wingman::storage

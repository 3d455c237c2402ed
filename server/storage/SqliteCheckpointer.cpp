#include "storage/SqliteCheckpointer.h"

#include "storage/Storage.h"

#include <sqlite3.h>

namespace wingman::storage {

SqliteCheckpointer::SqliteCheckpointer(QString path, int checkpointPages, int maxPages)
    : m_path(std::move(path))
    , m_checkpointPages(checkpointPages)
    , m_maxPages(maxPages)
    , m_thread([this] { run(); })
{ }

SqliteCheckpointer::~SqliteCheckpointer()
{
    detach();
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void SqliteCheckpointer::attach(sqlite3 *writer)
{
    m_writer = writer;
    sqlite3_wal_hook(writer, &SqliteCheckpointer::onCommit, this);
}

void SqliteCheckpointer::detach()
{
    if (m_writer)
        sqlite3_wal_hook(m_writer, nullptr, nullptr);
    m_writer = nullptr;
}

int SqliteCheckpointer::passiveCount() const
{
    std::lock_guard lock(m_mutex);
    return m_passive;
}

// On the writer's thread, after each commit, with the WAL's size in pages.
int SqliteCheckpointer::onCommit(void *self, sqlite3 *db, const char *schema, int walPages)
{
    auto *checkpointer = static_cast<SqliteCheckpointer *>(self);
    if (walPages >= checkpointer->m_maxPages) {
        const int result
            = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
        // BUSY: the checkpoint thread is in the middle of one; the next commit tries again.
        if (result != SQLITE_OK && result != SQLITE_BUSY)
            qCWarning(lcStorage).noquote() << "WAL checkpoint failed:" << sqlite3_errstr(result);
        return SQLITE_OK;
    }
    if (walPages >= checkpointer->m_checkpointPages) {
        {
            std::lock_guard lock(checkpointer->m_mutex);
            checkpointer->m_requested = true;
        }
        checkpointer->m_wake.notify_one();
    }
    return SQLITE_OK;
}

void SqliteCheckpointer::run()
{
    sqlite3 *db = nullptr;
    const QByteArray path = m_path.toUtf8();
    // The default synchronous=FULL: a checkpoint syncs the WAL before copying and the database
    // file before the WAL may be reused.
    if (sqlite3_open_v2(path.constData(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr)
        != SQLITE_OK) {
        qCWarning(lcStorage).noquote() << "cannot open a checkpoint connection to" << m_path << ":"
                                       << sqlite3_errmsg(db) << "; the writer checkpoints alone";
        sqlite3_close(db);
        db = nullptr;
    }
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_requested || m_stop; });
            if (m_stop)
                break;
            m_requested = false;
        }
        if (!db)
            continue;
        const int result
            = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (result == SQLITE_OK) {
            std::lock_guard lock(m_mutex);
            ++m_passive;
        } else if (result != SQLITE_BUSY && result != SQLITE_LOCKED) {
            qCWarning(lcStorage).noquote() << "WAL checkpoint failed:" << sqlite3_errmsg(db);
        }
    }
    sqlite3_close(db);
}

} // namespace wingman::storage

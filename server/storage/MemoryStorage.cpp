#include "storage/MemoryStorage.h"

#include <QTimer>

namespace wingman::storage {

Q_LOGGING_CATEGORY(lcStorage, "wingman.storage")

void MemoryStorage::open()
{
    QTimer::singleShot(0, this, [this] {
        m_open = true;
        Q_EMIT opened();
    });
}

void MemoryStorage::close()
{
    m_open = false;
}

void MemoryStorage::write(QList<StorageWrite>, Done done)
{
    if (done)
        done({});
}

} // namespace wingman::storage

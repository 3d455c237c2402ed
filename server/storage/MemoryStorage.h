#pragma once

#include "storage/Storage.h"

namespace wingman::storage {

// `--storage memory:`: the node's maps are the only copy of the data, so there is nothing to
// write and nothing to load; writes commit at once and nothing survives the process.
class MemoryStorage : public Storage
{
    Q_OBJECT
public:
    using Storage::Storage;

    void open() override;
    void close() override;
    bool isOpen() const override { return m_open; }
    bool isDurable() const override { return false; }
    void write(QList<StorageWrite> writes, Done done) override;
    QHash<QString, StoredMap> loadAll() override { return {}; }
    QString loadMeta(const QString &key) override { return m_meta.value(key); }
    void storeMeta(const QString &key, const QString &value) override { m_meta.insert(key, value); }

private:
    bool m_open = false;
    QHash<QString, QString> m_meta;
};

} // namespace wingman::storage

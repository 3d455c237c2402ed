#pragma once

#include "storage/Storage.h"

namespace wingman::storage {

// Storage that lives as long as the process: tests and `--storage memory:`.
class MemoryStorage : public Storage
{
    Q_OBJECT
public:
    using Storage::Storage;

    void open() override;
    void close() override;
    bool isOpen() const override { return m_open; }

private:
    bool m_open = false;
};

} // namespace wingman::storage

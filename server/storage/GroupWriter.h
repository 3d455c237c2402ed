#pragma once

#include "storage/Storage.h"

#include <utility>
#include <vector>

namespace wingman::storage {

// Writes one group of queued write() calls to SqlStorage's tables as one transaction, on the
// writer thread. Writes apply in submission order, so a later write to the same row wins.
class GroupWriter
{
public:
    using Meta = std::vector<std::pair<QString, QString>>;

    virtual ~GroupWriter() = default;

    // Empty once committed; otherwise an error line, and nothing of the group is stored.
    virtual QString commit(const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta)
        = 0;
};

} // namespace wingman::storage

#pragma once

#include "crdt/Timestamp.h"

#include <QCborValue>
#include <optional>

namespace wingman::crdt {

// One value of an LWW map. A null value is a tombstone.
struct LwwRecord {
    QCborValue value;
    Timestamp timestamp;
    std::optional<qint64> ttlMs;

    bool isTombstone() const { return value.isNull() || value.isUndefined(); }
    // True when ttlMs is set and timestamp.millis + ttlMs < nowMillis.
    bool isExpired(qint64 nowMillis) const
    {
        return ttlMs && timestamp.millis + *ttlMs < nowMillis;
    }
    friend bool operator==(const LwwRecord &, const LwwRecord &) = default;
};

} // namespace wingman::crdt

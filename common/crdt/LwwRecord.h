#pragma once

#include "crdt/Timestamp.h"

#include <QCborValue>
#include <QtNumeric>
#include <optional>

namespace wingman::crdt {

// One value of an LWW map. A null value is a tombstone.
struct LwwRecord {
    QCborValue value;
    Timestamp timestamp;
    std::optional<qint64> ttlMs;

    bool isTombstone() const { return value.isNull() || value.isUndefined(); }
    // True when ttlMs is set and timestamp.millis + ttlMs < nowMillis. A ttlMs of 0 never
    // expires: TopGun tests `record.ttlMs && ...`, and 0 is falsy.
    bool isExpired(qint64 nowMillis) const
    {
        if (!ttlMs || *ttlMs == 0)
            return false;
        qint64 expiresAt = 0;
        if (qAddOverflow(timestamp.millis, *ttlMs, &expiresAt))
            return *ttlMs < 0;
        return expiresAt < nowMillis;
    }
    friend bool operator==(const LwwRecord &, const LwwRecord &) = default;
};

} // namespace wingman::crdt

#pragma once

#include "crdt/Timestamp.h"
#include "crdt/Value.h"

#include <QCborValue>
#include <QtNumeric>
#include <optional>

namespace wingman::crdt {

// One value of an LWW map. A null value is a tombstone.
struct LwwRecord {
    Value value;
    Timestamp timestamp;
    std::optional<qint64> ttlMs;

    bool isTombstone() const { return value.isNullish(); }
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
    // What TTL expiry turns this record into (docs/core.md "LWW map"): a tombstone stamped at
    // timestamp.millis + ttlMs, counter 0, nodeId (the expiring node's). Only records with a
    // positive ttlMs expire this way: for any other, no such tombstone would be newer.
    std::optional<LwwRecord> expiryTombstone(const QString &nodeId) const
    {
        qint64 expiresAt = 0;
        if (!ttlMs || *ttlMs <= 0 || qAddOverflow(timestamp.millis, *ttlMs, &expiresAt))
            return std::nullopt;
        return LwwRecord { QCborValue(QCborValue::Null), Timestamp { expiresAt, 0, nodeId },
            std::nullopt };
    }
    friend bool operator==(const LwwRecord &, const LwwRecord &) = default;
};

} // namespace wingman::crdt

#pragma once

#include "crdt/Timestamp.h"
#include "crdt/Value.h"

#include <QCborValue>
#include <QtNumeric>
#include <optional>

namespace wingman::crdt {

// One observed value of an OR map key; tag identifies it for removal (the timestamp's string form).
struct OrRecord {
    Value value;
    Timestamp timestamp;
    QString tag;
    std::optional<qint64> ttlMs;

    // As LwwRecord::isExpired: a ttlMs of 0 never expires, as in TopGun.
    bool isExpired(qint64 nowMillis) const
    {
        if (!ttlMs || *ttlMs == 0)
            return false;
        qint64 expiresAt = 0;
        if (qAddOverflow(timestamp.millis, *ttlMs, &expiresAt))
            return *ttlMs < 0;
        return expiresAt < nowMillis;
    }
    friend bool operator==(const OrRecord &, const OrRecord &) = default;
};

} // namespace wingman::crdt

#pragma once

#include "crdt/Timestamp.h"

#include <QCborValue>
#include <optional>

namespace wingman::crdt {

// One observed value of an OR map key; tag identifies it for removal (the timestamp's string form).
struct OrRecord {
    QCborValue value;
    Timestamp timestamp;
    QString tag;
    std::optional<qint64> ttlMs;

    bool isExpired(qint64 nowMillis) const
    {
        return ttlMs && timestamp.millis + *ttlMs < nowMillis;
    }
    friend bool operator==(const OrRecord &, const OrRecord &) = default;
};

} // namespace wingman::crdt

#pragma once

#include <QString>
#include <compare>
#include <optional>

namespace wingman::crdt {

// A hybrid logical clock reading. Ordered by millis, then counter, then nodeId compared the way
// JavaScript's localeCompare does (ICU root collation), so LWW ties break as in TopGun. Like
// localeCompare, two node ids the collator considers equal (canonically equivalent text) order
// as equal even though operator== tells them apart.
struct Timestamp {
    qint64 millis = 0;
    qint32 counter = 0;
    QString nodeId;

    // "<millis>:<counter>:<nodeId>"
    QString toString() const;
    // Exactly three ':'-separated parts: millis and counter plain non-negative decimals within
    // qint64 / qint32, nodeId non-empty; nullopt otherwise.
    static std::optional<Timestamp> fromString(const QString &text);

    friend bool operator==(const Timestamp &, const Timestamp &) = default;
    friend std::strong_ordering operator<=>(const Timestamp &a, const Timestamp &b);
};

// localeCompare-compatible comparison of node ids (negative, zero, positive).
int compareNodeIds(const QString &a, const QString &b);

} // namespace wingman::crdt

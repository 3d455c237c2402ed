#pragma once

#include <QCborMap>
#include <QMap>
#include <QString>

#include <optional>

namespace wingman::primitives {

// One PN counter as clients exchange it (docs/protocol.md "PN counters"): per-node counts of
// increments and of decrements, merged by per-node maximum. Counts are any finite numbers ≥ 0,
// as the TopGun client keeps them in JavaScript numbers.
class CounterState
{
public:
    // {p, n} or {positive, negative} (both pairs are merged when both come); a missing or nil
    // side is empty. nullopt with *error naming the fault when a side is not a map or a count
    // is not a finite number ≥ 0.
    static std::optional<CounterState> fromCbor(const QCborMap &state, QString *error = nullptr);
    // {p, n, positive, negative}; integral counts as integers.
    QCborMap toCbor() const;
    // The stored form, {p, n} as compact JSON.
    QString toJson() const;
    static CounterState fromJson(const QString &json);

    // Per-node maximum on each side; true when anything grew.
    bool merge(const CounterState &other);
    double value() const;
    bool isEmpty() const { return m_positive.isEmpty() && m_negative.isEmpty(); }

    const QMap<QString, double> &positive() const { return m_positive; }
    const QMap<QString, double> &negative() const { return m_negative; }
    void setCount(bool positiveSide, const QString &nodeId, double count);

    friend bool operator==(const CounterState &, const CounterState &) = default;

private:
    QMap<QString, double> m_positive;
    QMap<QString, double> m_negative;
};

} // namespace wingman::primitives

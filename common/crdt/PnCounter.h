#pragma once

#include <QCborMap>
#include <QCborValue>
#include <QMap>
#include <QString>
#include <optional>

namespace wingman::crdt {

// Positive-negative counter (docs/core.md "PN counter"): per-node totals of increments (p) and
// decrements (n); value = sum(p) - sum(n); merge keeps the per-node maximum on each side, which
// makes it commutative, associative and idempotent. Counts are integers.
class PnCounter
{
public:
    // Adds amount to nodeId's increments (a negative amount to its decrements); returns value().
    qint64 increment(const QString &nodeId, qint64 amount = 1);
    // Adds amount to nodeId's decrements (a negative amount to its increments); returns value().
    qint64 decrement(const QString &nodeId, qint64 amount = 1);
    qint64 value() const;

    // Per-node maximum on each side; returns whether anything grew.
    bool merge(const PnCounter &other);

    const QMap<QString, qint64> &positive() const { return m_positive; }
    const QMap<QString, qint64> &negative() const { return m_negative; }

    // {"p": {nodeId: n}, "n": {nodeId: n}}
    QCborMap toCbor() const;
    // nullopt unless value is such a map with non-negative integral counts (a missing side is
    // empty).
    static std::optional<PnCounter> fromCbor(const QCborValue &value);

    friend bool operator==(const PnCounter &, const PnCounter &) = default;

private:
    static void add(QMap<QString, qint64> &side, const QString &nodeId, qint64 amount);

    QMap<QString, qint64> m_positive;
    QMap<QString, qint64> m_negative;
};

} // namespace wingman::crdt

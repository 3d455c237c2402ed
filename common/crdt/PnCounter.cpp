#include "crdt/PnCounter.h"

#include <QtNumeric>
#include <cmath>
#include <limits>

namespace wingman::crdt {

namespace {

QCborMap sideToCbor(const QMap<QString, qint64> &side)
{
    QCborMap map;
    for (auto it = side.cbegin(); it != side.cend(); ++it)
        map.insert(it.key(), it.value());
    return map;
}

// A JavaScript client sends whole counts as integers or as doubles.
std::optional<qint64> countFrom(const QCborValue &value)
{
    if (value.isInteger())
        return value.toInteger() >= 0 ? std::optional(value.toInteger()) : std::nullopt;
    if (!value.isDouble())
        return std::nullopt;
    const double number = value.toDouble();
    if (!(number >= 0) || number >= 9223372036854775808.0 || std::trunc(number) != number)
        return std::nullopt;
    return qint64(number);
}

bool sideFromCbor(const QCborValue &value, QMap<QString, qint64> &side)
{
    if (value.isUndefined())
        return true;
    if (!value.isMap())
        return false;
    const QCborMap map = value.toMap();
    for (auto it = map.cbegin(); it != map.cend(); ++it) {
        const auto count = countFrom(it.value());
        if (!it.key().isString() || !count)
            return false;
        side.insert(it.key().toString(), *count);
    }
    return true;
}

qint64 negated(qint64 amount)
{
    return amount == std::numeric_limits<qint64>::min() ? std::numeric_limits<qint64>::max()
                                                        : -amount;
}

qint64 sum(const QMap<QString, qint64> &side)
{
    qint64 total = 0;
    for (const qint64 count : side) {
        if (qAddOverflow(total, count, &total))
            return std::numeric_limits<qint64>::max();
    }
    return total;
}

} // namespace

qint64 PnCounter::increment(const QString &nodeId, qint64 amount)
{
    if (amount < 0)
        return decrement(nodeId, negated(amount));
    add(m_positive, nodeId, amount);
    return value();
}

qint64 PnCounter::decrement(const QString &nodeId, qint64 amount)
{
    if (amount < 0)
        return increment(nodeId, negated(amount));
    add(m_negative, nodeId, amount);
    return value();
}

qint64 PnCounter::value() const
{
    return sum(m_positive) - sum(m_negative);
}

bool PnCounter::merge(const PnCounter &other)
{
    bool changed = false;
    auto mergeSide = [&changed](QMap<QString, qint64> &mine, const QMap<QString, qint64> &theirs) {
        for (auto it = theirs.cbegin(); it != theirs.cend(); ++it) {
            const auto current = mine.constFind(it.key());
            if (it.value() > (current == mine.cend() ? 0 : current.value())) {
                mine.insert(it.key(), it.value());
                changed = true;
            }
        }
    };
    mergeSide(m_positive, other.m_positive);
    mergeSide(m_negative, other.m_negative);
    return changed;
}

QCborMap PnCounter::toCbor() const
{
    QCborMap state;
    state.insert(QStringLiteral("p"), sideToCbor(m_positive));
    state.insert(QStringLiteral("n"), sideToCbor(m_negative));
    return state;
}

std::optional<PnCounter> PnCounter::fromCbor(const QCborValue &value)
{
    if (!value.isMap())
        return std::nullopt;
    PnCounter counter;
    const QCborMap state = value.toMap();
    if (!sideFromCbor(state.value(QStringLiteral("p")), counter.m_positive)
        || !sideFromCbor(state.value(QStringLiteral("n")), counter.m_negative))
        return std::nullopt;
    return counter;
}

void PnCounter::add(QMap<QString, qint64> &side, const QString &nodeId, qint64 amount)
{
    if (amount == 0)
        return;
    qint64 &count = side[nodeId];
    // Saturate: a count that cannot grow further is still a valid (maximal) state.
    if (qAddOverflow(count, amount, &count))
        count = std::numeric_limits<qint64>::max();
}

} // namespace wingman::crdt

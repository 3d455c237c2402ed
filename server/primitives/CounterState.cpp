#include "primitives/CounterState.h"

#include <QCborValue>
#include <QJsonDocument>
#include <QJsonObject>

#include <cmath>

namespace wingman::primitives {

namespace {

using Side = QMap<QString, double>;

// Adds one side of the wire state into side; false with *error when it is not valid.
bool readSide(const QCborValue &value, const QString &key, Side &side, QString *error)
{
    if (value.isUndefined() || value.isNull())
        return true;
    if (!value.isMap()) {
        if (error)
            *error = QStringLiteral("state.%1 must be a map").arg(key);
        return false;
    }
    const QCborMap map = value.toMap();
    for (auto it = map.cbegin(); it != map.cend(); ++it) {
        const QCborValue count = it.value();
        const double n = count.isInteger() ? double(count.toInteger())
                                           : (count.isDouble() ? count.toDouble() : -1.0);
        if (!it.key().isString() || !(count.isInteger() || count.isDouble()) || !std::isfinite(n)
            || n < 0) {
            if (error) {
                *error = QStringLiteral("state.%1.%2 must be a finite number >= 0")
                             .arg(key, it.key().toString());
            }
            return false;
        }
        double &held = side[it.key().toString()];
        held = std::max(held, n);
    }
    return true;
}

QCborMap sideToCbor(const Side &side)
{
    QCborMap map;
    for (auto it = side.cbegin(); it != side.cend(); ++it) {
        const double n = it.value();
        if (n == std::floor(n) && std::abs(n) < 9007199254740992.0)
            map.insert(it.key(), qint64(n));
        else
            map.insert(it.key(), n);
    }
    return map;
}

bool mergeSide(Side &into, const Side &from)
{
    bool grew = false;
    for (auto it = from.cbegin(); it != from.cend(); ++it) {
        auto held = into.find(it.key());
        if (held == into.end()) {
            into.insert(it.key(), it.value());
            grew = true;
        } else if (it.value() > *held) {
            *held = it.value();
            grew = true;
        }
    }
    return grew;
}

double sum(const Side &side)
{
    double total = 0;
    for (const double n : side)
        total += n;
    return total;
}

} // namespace

std::optional<CounterState> CounterState::fromCbor(const QCborMap &state, QString *error)
{
    CounterState result;
    if (!readSide(state.value(QStringLiteral("p")), QStringLiteral("p"), result.m_positive, error)
        || !readSide(state.value(QStringLiteral("positive")), QStringLiteral("positive"),
            result.m_positive, error)
        || !readSide(
            state.value(QStringLiteral("n")), QStringLiteral("n"), result.m_negative, error)
        || !readSide(state.value(QStringLiteral("negative")), QStringLiteral("negative"),
            result.m_negative, error)) {
        return std::nullopt;
    }
    return result;
}

QCborMap CounterState::toCbor() const
{
    const QCborMap positive = sideToCbor(m_positive);
    const QCborMap negative = sideToCbor(m_negative);
    return QCborMap { { QStringLiteral("p"), positive }, { QStringLiteral("n"), negative },
        { QStringLiteral("positive"), positive }, { QStringLiteral("negative"), negative } };
}

QString CounterState::toJson() const
{
    const QCborMap stored { { QStringLiteral("p"), sideToCbor(m_positive) },
        { QStringLiteral("n"), sideToCbor(m_negative) } };
    return QString::fromUtf8(QJsonDocument(stored.toJsonObject()).toJson(QJsonDocument::Compact));
}

CounterState CounterState::fromJson(const QString &json)
{
    const QJsonDocument document = QJsonDocument::fromJson(json.toUtf8());
    return fromCbor(QCborMap::fromJsonObject(document.object())).value_or(CounterState {});
}

bool CounterState::merge(const CounterState &other)
{
    const bool grewPositive = mergeSide(m_positive, other.m_positive);
    const bool grewNegative = mergeSide(m_negative, other.m_negative);
    return grewPositive || grewNegative;
}

double CounterState::value() const
{
    return sum(m_positive) - sum(m_negative);
}

void CounterState::setCount(bool positiveSide, const QString &nodeId, double count)
{
    (positiveSide ? m_positive : m_negative).insert(nodeId, count);
}

} // namespace wingman::primitives

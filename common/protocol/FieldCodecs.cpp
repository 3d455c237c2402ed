#include "protocol/FieldCodecs.h"

#include <cmath>
#include <limits>

namespace wingman::protocol::schema {

bool failAt(DecodeError *error, const FieldPath &path, const QString &reason)
{
    if (error) {
        error->field = path.toString();
        error->reason = reason;
    }
    return false;
}

bool failRequired(
    const QCborValue &value, DecodeError *error, const FieldPath &path, QLatin1StringView reason)
{
    return failAt(error, path, isAbsent(value) ? QStringLiteral("is required") : QString(reason));
}

std::optional<qint64> toInt64(const QCborValue &value)
{
    if (value.isInteger())
        return value.toInteger();
    if (!value.isDouble())
        return std::nullopt;
    const double d = value.toDouble();
    // 2^63 is exact as a double; anything below it and integral converts without loss.
    constexpr double limit = 9223372036854775808.0;
    if (!std::isfinite(d) || d != std::trunc(d) || d < -limit || d >= limit)
        return std::nullopt;
    return qint64(d);
}

bool failNotText(const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    return failAt(error, path,
        wire::MsgPackCodec::isInvalidString(value) ? QStringLiteral("is not valid UTF-8")
                                                   : QStringLiteral("must be a string"));
}

bool failText(const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    return isAbsent(value) ? failAt(error, path, QStringLiteral("is required"))
                           : failNotText(value, error, path);
}

namespace {

bool inRange(qint64 n, qint64 min, qint64 max)
{
    return n >= min && n <= max;
}

constexpr qint64 kInt32Min = std::numeric_limits<qint32>::min();

} // namespace

bool Integer::readNonInteger(
    const QCborValue &value, qint64 &out, DecodeError *error, const FieldPath &path)
{
    if (const std::optional<qint64> n = toInt64(value)) {
        out = *n;
        return true;
    }
    if (isAbsent(value))
        return failAt(error, path, QStringLiteral("is required"));
    const bool bignum = value.isTag()
        && (value.tag() == QCborTag(QCborKnownTags::PositiveBignum)
            || value.tag() == QCborTag(QCborKnownTags::NegativeBignum));
    return failAt(error, path,
        value.isDouble() || bignum ? QStringLiteral("must be an integer in 64-bit range")
                                   : QStringLiteral("must be a number"));
}

bool Int32::read(const QCborValue &value, qint32 &out, DecodeError *error, const FieldPath &path)
{
    qint64 n = 0;
    if (!Integer::read(value, n, error, path))
        return false;
    if (!inRange(n, kInt32Min, std::numeric_limits<qint32>::max()))
        return failAt(error, path, QStringLiteral("must be a 32-bit integer"));
    out = qint32(n);
    return true;
}

bool Hash::read(const QCborValue &value, quint32 &out, DecodeError *error, const FieldPath &path)
{
    qint64 n = 0;
    if (!Integer::read(value, n, error, path))
        return false;
    if (!inRange(n, kInt32Min, std::numeric_limits<quint32>::max()))
        return failAt(error, path, QStringLiteral("must be a 32-bit hash"));
    out = quint32(n);
    return true;
}

bool Buckets::read(
    const QCborValue &value, QMap<QString, quint32> &out, DecodeError *error, const FieldPath &path)
{
    if (!requireMap(value, error, path))
        return false;
    const QCborMap buckets = value.toMap();
    out.clear();
    for (auto it = buckets.cbegin(); it != buckets.cend(); ++it) {
        const QCborValue key = it.key();
        if (!key.isString())
            return failAt(error, path, QStringLiteral("keys must be strings"));
        const std::optional<qint64> hash = toInt64(it.value());
        if (!hash || !inRange(*hash, kInt32Min, std::numeric_limits<quint32>::max())) {
            return failAt(error, path,
                QStringLiteral("bucket '%1' must be a 32-bit hash").arg(key.toString()));
        }
        out.insert(key.toString(), quint32(*hash));
    }
    return true;
}

QCborValue Buckets::toCbor(const QMap<QString, quint32> &buckets)
{
    QCborMap map;
    for (auto it = buckets.cbegin(); it != buckets.cend(); ++it)
        map.insert(it.key(), qint64(it.value()));
    return map;
}

} // namespace wingman::protocol::schema

#include "protocol/FieldReader.h"

#include <QStringList>

#include <cmath>
#include <limits>

namespace wingman::protocol {

bool failAt(DecodeError *error, const FieldPath &path, const QString &reason)
{
    if (error) {
        error->field = path.toString();
        error->reason = reason;
    }
    return false;
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

namespace {

QString notStringReason(const QCborValue &value)
{
    return MsgPackCodec::isInvalidString(value) ? QStringLiteral("is not valid UTF-8")
                                                : QStringLiteral("must be a string");
}

} // namespace

bool FieldReader::fail(QLatin1StringView name, const QString &reason) const
{
    if (m_error) {
        m_error->field = m_path.toString(name);
        m_error->reason = reason;
    }
    return false;
}

bool FieldReader::type(QLatin1StringView expected) const
{
    const QCborValue v = m_map.value(QLatin1StringView("type"));
    if (v.isString() && v.toString() == expected)
        return true;
    return fail(QLatin1StringView("type"), QStringLiteral("must be '%1'").arg(expected));
}

bool FieldReader::string(QLatin1StringView name, QString &out) const
{
    const QCborValue v = m_map.value(name);
    if (v.isString()) {
        out = v.toString();
        return true;
    }
    return fail(name, isAbsent(v) ? QStringLiteral("is required") : notStringReason(v));
}

bool FieldReader::optionalString(QLatin1StringView name, std::optional<QString> &out) const
{
    const QCborValue v = m_map.value(name);
    if (isAbsentOrNull(v)) {
        out.reset();
        return true;
    }
    if (!v.isString())
        return fail(name, notStringReason(v));
    out = v.toString();
    return true;
}

bool FieldReader::integer(QLatin1StringView name, qint64 &out) const
{
    const QCborValue v = m_map.value(name);
    if (const auto n = toInt64(v)) {
        out = *n;
        return true;
    }
    if (isAbsent(v))
        return fail(name, QStringLiteral("is required"));
    const bool bignum = v.isTag()
        && (v.tag() == QCborTag(QCborKnownTags::PositiveBignum)
            || v.tag() == QCborTag(QCborKnownTags::NegativeBignum));
    return fail(name,
        v.isDouble() || bignum ? QStringLiteral("must be an integer in 64-bit range")
                               : QStringLiteral("must be a number"));
}

bool FieldReader::optionalInteger(QLatin1StringView name, std::optional<qint64> &out) const
{
    if (isAbsentOrNull(m_map.value(name))) {
        out.reset();
        return true;
    }
    qint64 n = 0;
    if (!integer(name, n))
        return false;
    out = n;
    return true;
}

bool FieldReader::boolean(QLatin1StringView name, bool &out) const
{
    const QCborValue v = m_map.value(name);
    if (v.isBool()) {
        out = v.toBool();
        return true;
    }
    return fail(
        name, isAbsent(v) ? QStringLiteral("is required") : QStringLiteral("must be a boolean"));
}

bool FieldReader::optionalBoolean(QLatin1StringView name, std::optional<bool> &out) const
{
    const QCborValue v = m_map.value(name);
    if (isAbsentOrNull(v)) {
        out.reset();
        return true;
    }
    if (!v.isBool())
        return fail(name, QStringLiteral("must be a boolean"));
    out = v.toBool();
    return true;
}

bool FieldReader::map(QLatin1StringView name, QCborMap &out) const
{
    const QCborValue v = m_map.value(name);
    if (v.isMap()) {
        out = v.toMap();
        return true;
    }
    return fail(
        name, isAbsent(v) ? QStringLiteral("is required") : QStringLiteral("must be a map"));
}

bool FieldReader::array(QLatin1StringView name, QCborArray &out) const
{
    const QCborValue v = m_map.value(name);
    if (v.isArray()) {
        out = v.toArray();
        return true;
    }
    return fail(
        name, isAbsent(v) ? QStringLiteral("is required") : QStringLiteral("must be an array"));
}

bool FieldReader::stringList(QLatin1StringView name, QStringList &out) const
{
    QCborArray items;
    if (!array(name, items))
        return false;
    const FieldPath listPath(m_path, name);
    out.clear();
    out.reserve(items.size());
    for (qsizetype i = 0; i < items.size(); ++i) {
        const QCborValue item = items.at(i);
        if (!item.isString())
            return failAt(m_error, FieldPath(listPath, i), notStringReason(item));
        out.append(item.toString());
    }
    return true;
}

bool FieldReader::hash(QLatin1StringView name, quint32 &out) const
{
    qint64 n = 0;
    if (!integer(name, n))
        return false;
    if (n < std::numeric_limits<qint32>::min() || n > qint64(std::numeric_limits<quint32>::max()))
        return fail(name, QStringLiteral("must be a 32-bit hash"));
    out = quint32(n);
    return true;
}

} // namespace wingman::protocol

#include "processors/BuiltInProcessors.h"

#include "processors/ScriptValues.h"

#include <QCborArray>
#include <QCborMap>

#include <cmath>

namespace wingman::processors {

namespace {

using Maybe = std::optional<ProcessorRun>;

const QCborValue kUndefined = QCborValue(QCborValue::Undefined);

bool isNumber(const QCborValue &v)
{
    return v.isInteger() || v.isDouble();
}

bool isNullish(const QCborValue &v)
{
    return v.isUndefined() || v.isNull();
}

// A JavaScript number as it comes back through JSON: integral values as integers.
QCborValue number(double x)
{
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9007199254740992.0)
        return QCborValue(qint64(x));
    if (!std::isfinite(x))
        return QCborValue(QCborValue::Null);
    return QCborValue(x);
}

ProcessorRun done(const QCborValue &value, const QCborValue &result)
{
    ProcessorRun run;
    run.value = value;
    run.result = result;
    return run;
}

bool jsonEqual(const QCborValue &a, const QCborValue &b)
{
    return ScriptValues::toJson(a) == ScriptValues::toJson(b);
}

// value ?? fallback, when that is a number.
std::optional<double> numberOr(const QCborValue &value, double fallback)
{
    if (isNullish(value))
        return fallback;
    if (isNumber(value))
        return value.toDouble();
    return std::nullopt;
}

Maybe addTo(const QCborValue &value, const QCborValue &args, double sign)
{
    const std::optional<double> base = numberOr(value, 0);
    const std::optional<double> delta = numberOr(args, 1);
    if (!base || !delta)
        return std::nullopt;
    const QCborValue next = number(*base + sign * *delta);
    return done(next, next);
}

Maybe decrementFloor(const QCborValue &value, const QCborValue &args)
{
    const std::optional<double> base = numberOr(value, 0);
    const std::optional<double> delta = numberOr(args, 1);
    if (!base || !delta)
        return std::nullopt;
    const double raw = *base - *delta;
    const QCborValue next = number(std::max(0.0, raw));
    return done(next,
        QCborMap {
            { QStringLiteral("newValue"), next }, { QStringLiteral("wasFloored"), raw < 0 } });
}

Maybe multiply(const QCborValue &value, const QCborValue &args)
{
    const std::optional<double> base = numberOr(value, 1);
    if (!base || !isNumber(args))
        return std::nullopt;
    const QCborValue next = number(*base * args.toDouble());
    return done(next, next);
}

// The array value holds, [] when nullish; nullopt for anything else.
std::optional<QCborArray> arrayOf(const QCborValue &value)
{
    if (isNullish(value))
        return QCborArray();
    if (value.isArray())
        return value.toArray();
    return std::nullopt;
}

// Sets (or, with no replacement, deletes) path's last part inside map; nullopt when a part on
// the way is not an object. *old gets the previous value.
std::optional<QCborMap> atPath(QCborMap map, const QStringList &parts, qsizetype index,
    const std::optional<QCborValue> &replacement, QCborValue *old)
{
    const QString &part = parts.at(index);
    if (index + 1 == parts.size()) {
        *old = map.value(part);
        if (replacement)
            map.insert(part, *replacement);
        else
            map.remove(part);
        return map;
    }
    const QCborValue inner = map.value(part);
    if (!isNullish(inner) && !inner.isMap())
        return std::nullopt;
    if (!replacement && isNullish(inner))
        return std::nullopt;
    const std::optional<QCborMap> changed
        = atPath(inner.toMap(), parts, index + 1, replacement, old);
    if (!changed)
        return std::nullopt;
    map.insert(part, *changed);
    return map;
}

Maybe setProperty(const QCborValue &value, const QCborValue &args)
{
    if ((!isNullish(value) && !value.isMap()) || !args.isMap())
        return std::nullopt;
    const QCborValue path = args.toMap().value(QStringLiteral("path"));
    if (!path.isString())
        return std::nullopt;
    QCborValue old;
    const std::optional<QCborMap> changed
        = atPath(value.toMap(), path.toString().split(QLatin1Char('.')), 0,
            args.toMap().value(QStringLiteral("value")), &old);
    if (!changed)
        return std::nullopt;
    return done(*changed, *changed);
}

Maybe deleteProperty(const QCborValue &value, const QCborValue &args)
{
    if (!value.isMap() || !args.isString())
        return std::nullopt;
    QCborValue old;
    const std::optional<QCborMap> changed
        = atPath(value.toMap(), args.toString().split(QLatin1Char('.')), 0, std::nullopt, &old);
    if (!changed)
        return std::nullopt;
    return done(*changed, old);
}

Maybe conditionalUpdate(const QCborValue &value, const QCborValue &args)
{
    if (!value.isMap() || !args.isMap())
        return std::nullopt;
    const QCborMap current = value.toMap();
    const QCborMap request = args.toMap();
    const QCborValue version = current.value(QStringLiteral("version"));
    const QCborValue newData = request.value(QStringLiteral("newData"));
    if (!isNumber(version) || !isNumber(request.value(QStringLiteral("expectedVersion")))
        || !(newData.isMap() || isNullish(newData)))
        return std::nullopt;
    if (version.toDouble() != request.value(QStringLiteral("expectedVersion")).toDouble())
        return done(value,
            QCborMap {
                { QStringLiteral("updated"), false }, { QStringLiteral("conflict"), true } });
    QCborMap merged = current;
    const QCborMap data = newData.toMap();
    for (auto it = data.cbegin(); it != data.cend(); ++it)
        merged.insert(it.key(), it.value());
    merged.insert(QStringLiteral("version"), number(version.toDouble() + 1));
    return done(merged,
        QCborMap { { QStringLiteral("updated"), true }, { QStringLiteral("conflict"), false } });
}

Maybe shallowMerge(const QCborValue &value, const QCborValue &args)
{
    if ((!isNullish(value) && !value.isMap()) || !(args.isMap() || isNullish(args)))
        return std::nullopt;
    QCborMap merged = value.toMap();
    const QCborMap extra = args.toMap();
    for (auto it = extra.cbegin(); it != extra.cend(); ++it)
        merged.insert(it.key(), it.value());
    return done(merged, merged);
}

} // namespace

bool BuiltInProcessors::isBuiltIn(const QString &name)
{
    return name.startsWith(QLatin1String("builtin:"));
}

std::optional<ProcessorRun> BuiltInProcessors::run(
    const QString &name, const QCborValue &value, const QCborValue &args)
{
    if (!isBuiltIn(name))
        return std::nullopt;
    const QStringView op = QStringView(name).mid(8);
    if (op == u"increment")
        return addTo(value, args, 1);
    if (op == u"decrement")
        return addTo(value, args, -1);
    if (op == u"decrement_floor")
        return decrementFloor(value, args);
    if (op == u"multiply")
        return multiply(value, args);
    if (op == u"put_if_absent")
        return value.isUndefined() ? done(args, true) : done(value, false);
    if (op == u"replace")
        return value.isUndefined() ? done(kUndefined, kUndefined) : done(args, value);
    if (op == u"replace_if_equals") {
        if (!args.isMap())
            return std::nullopt;
        const QCborMap request = args.toMap();
        if (jsonEqual(value, request.value(QStringLiteral("expected"))))
            return done(request.value(QStringLiteral("newValue")), true);
        return done(value, false);
    }
    if (op == u"delete_if_equals")
        return jsonEqual(value, args) ? done(kUndefined, true) : done(value, false);
    if (op == u"array_push") {
        std::optional<QCborArray> array = arrayOf(value);
        if (!array)
            return std::nullopt;
        array->append(args);
        return done(*array, qint64(array->size()));
    }
    if (op == u"array_pop") {
        std::optional<QCborArray> array = arrayOf(value);
        if (!array)
            return std::nullopt;
        if (array->isEmpty())
            return done(*array, kUndefined);
        const QCborValue last = array->takeAt(array->size() - 1);
        return done(*array, last);
    }
    if (op == u"array_remove") {
        std::optional<QCborArray> array = arrayOf(value);
        if (!array)
            return std::nullopt;
        for (qsizetype i = 0; i < array->size(); ++i) {
            if (jsonEqual(array->at(i), args)) {
                array->removeAt(i);
                return done(*array, true);
            }
        }
        return done(*array, false);
    }
    if (op == u"set_property")
        return setProperty(value, args);
    if (op == u"delete_property")
        return deleteProperty(value, args);
    if (op == u"get")
        return done(value, value);
    if (op == u"conditional_update")
        return conditionalUpdate(value, args);
    if (op == u"merge")
        return shallowMerge(value, args);
    return std::nullopt;
}

} // namespace wingman::processors

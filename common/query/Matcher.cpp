#include "query/Matcher.h"

#include <QCborArray>
#include <QCborMap>

#include <algorithm>
#include <cmath>
#include <compare>
#include <vector>

namespace wingman::query {

namespace {

bool isNumber(const QCborValue &v)
{
    return v.isInteger() || v.isDouble();
}

// long double holds every int64 exactly on the platforms we build for, so mixed comparisons
// neither round 2^53 + 1 nor overflow.
std::partial_ordering compareNumbers(const QCborValue &a, const QCborValue &b)
{
    if (a.isInteger() && b.isInteger())
        return a.toInteger() <=> b.toInteger();
    const auto widen = [](const QCborValue &v) {
        return v.isInteger() ? static_cast<long double>(v.toInteger())
                             : static_cast<long double>(v.toDouble());
    };
    return widen(a) <=> widen(b);
}

bool valuesEqual(const QCborValue &a, const QCborValue &b)
{
    if (isNumber(a) && isNumber(b))
        return compareNumbers(a, b) == 0;
    if (a.isBool() && b.isBool())
        return a.toBool() == b.toBool();
    if (a.type() != b.type())
        return false;
    if (a.isArray()) {
        const QCborArray x = a.toArray();
        const QCborArray y = b.toArray();
        if (x.size() != y.size())
            return false;
        for (qsizetype i = 0; i < x.size(); ++i) {
            if (!valuesEqual(x.at(i), y.at(i)))
                return false;
        }
        return true;
    }
    if (a.isMap()) {
        const QCborMap x = a.toMap();
        const QCborMap y = b.toMap();
        if (x.size() != y.size())
            return false;
        for (auto it = x.cbegin(); it != x.cend(); ++it) {
            const auto other = y.constFind(it.key());
            if (other == y.cend() || !valuesEqual(it.value(), other.value()))
                return false;
        }
        return true;
    }
    if (a.isTag())
        return a.tag() == b.tag() && valuesEqual(a.taggedValue(), b.taggedValue());
    return a == b;
}

// Ordering for gt/gte/lt/lte: only like with like; anything else is unordered (false).
std::partial_ordering compareForOperator(const QCborValue &a, const QCborValue &b)
{
    if (isNumber(a) && isNumber(b))
        return compareNumbers(a, b);
    if (a.isString() && b.isString())
        return a.toString().compare(b.toString()) <=> 0;
    if (a.isBool() && b.isBool())
        return a.toBool() <=> b.toBool();
    return std::partial_ordering::unordered;
}

int sortRank(const QCborValue &v)
{
    if (v.isUndefined() || v.isNull())
        return 0;
    if (v.isBool())
        return 1;
    if (isNumber(v))
        return 2;
    if (v.isString())
        return 3;
    if (v.isByteArray())
        return 4;
    return 5;
}

bool isNaN(const QCborValue &v)
{
    return v.isDouble() && std::isnan(v.toDouble());
}

// A total order for sorting, unlike compareForOperator: NaN sorts before every other number.
int compareForSort(const QCborValue &a, const QCborValue &b)
{
    const int rankA = sortRank(a);
    const int rankB = sortRank(b);
    if (rankA != rankB)
        return rankA < rankB ? -1 : 1;
    switch (rankA) {
    case 1:
        return int(a.toBool()) - int(b.toBool());
    case 2: {
        if (isNaN(a) || isNaN(b))
            return int(isNaN(b)) - int(isNaN(a));
        const auto order = compareNumbers(a, b);
        return order < 0 ? -1 : (order > 0 ? 1 : 0);
    }
    case 3:
        return a.toString().compare(b.toString());
    case 4:
        return a.toByteArray().compare(b.toByteArray());
    default:
        return 0;
    }
}

// Order under the query's sort keys alone; a(k) and b(k) give the k-th sort attribute.
template <typename ValueOfA, typename ValueOfB>
int compareSortKeys(const Query &query, ValueOfA a, ValueOfB b)
{
    for (qsizetype k = 0; k < query.sort().size(); ++k) {
        const int order = compareForSort(a(k), b(k));
        if (order != 0)
            return query.sort().at(k).direction == Query::Direction::Descending ? -order : order;
    }
    return 0;
}

bool containsText(const QCborValue &haystack, const QCborValue &needle)
{
    return needle.isString()
        && haystack.toString().contains(needle.toString(), Qt::CaseInsensitive);
}

bool evaluateLeaf(const Predicate &p, const QCborValue &record)
{
    const QCborValue actual = Matcher::attributeValue(record, p.attribute());
    const QCborValue &expected = p.value();
    switch (p.op()) {
    case Predicate::Op::Eq:
        return valuesEqual(actual, expected);
    case Predicate::Op::Neq:
        return !valuesEqual(actual, expected);
    case Predicate::Op::Gt:
        return compareForOperator(actual, expected) > 0;
    case Predicate::Op::Gte:
        return compareForOperator(actual, expected) >= 0;
    case Predicate::Op::Lt:
        return compareForOperator(actual, expected) < 0;
    case Predicate::Op::Lte:
        return compareForOperator(actual, expected) <= 0;
    case Predicate::Op::Like:
    case Predicate::Op::Regex:
        return actual.isString() && p.patternMatches(actual.toString());
    case Predicate::Op::Contains:
        return actual.isString() && containsText(actual, expected);
    case Predicate::Op::ContainsAll: {
        const QCborArray needles = expected.toArray();
        return actual.isString() && expected.isArray()
            && std::all_of(needles.cbegin(), needles.cend(),
                [&](const QCborValue &n) { return containsText(actual, n); });
    }
    case Predicate::Op::ContainsAny: {
        const QCborArray needles = expected.toArray();
        return actual.isString()
            && std::any_of(needles.cbegin(), needles.cend(),
                [&](const QCborValue &n) { return containsText(actual, n); });
    }
    case Predicate::Op::And:
    case Predicate::Op::Or:
    case Predicate::Op::Not:
        break;
    }
    return false;
}

bool evaluate(const Predicate &p, const QCborValue &record)
{
    const auto matchesRecord
        = [&record](const Predicate &child) { return evaluate(child, record); };
    switch (p.op()) {
    case Predicate::Op::And:
        return std::all_of(p.children().cbegin(), p.children().cend(), matchesRecord);
    case Predicate::Op::Or:
        return std::any_of(p.children().cbegin(), p.children().cend(), matchesRecord);
    case Predicate::Op::Not:
        // TopGun: "not" of nothing is vacuously true.
        return p.children().isEmpty() || !evaluate(p.children().first(), record);
    default:
        return evaluateLeaf(p, record);
    }
}

bool isTombstone(const QCborValue &value)
{
    return value.isNull() || value.isUndefined();
}

} // namespace

bool Matcher::matches(const Query &query, const QCborValue &value)
{
    return matches(query.condition(), value);
}

bool Matcher::matchesEveryLiveValue(const Query &query)
{
    const Predicate &condition = query.condition();
    return condition.op() == Predicate::Op::And && condition.children().isEmpty();
}

bool Matcher::matches(const Query &query, const crdt::Value &value)
{
    if (value.isNullish())
        return false;
    return matchesEveryLiveValue(query) || matches(query.condition(), value.toCbor());
}

bool Matcher::matches(const Predicate &predicate, const QCborValue &value)
{
    return !isTombstone(value) && evaluate(predicate, value);
}

QCborValue Matcher::attributeValue(const QCborValue &value, const QString &attribute)
{
    if (!value.isMap())
        return QCborValue(QCborValue::Undefined);
    const QCborValue direct = value.toMap().value(attribute);
    if (!direct.isUndefined() || !attribute.contains(u'.'))
        return direct;
    QCborValue current = value;
    for (const QStringView segment : QStringView(attribute).split(u'.')) {
        if (!current.isMap())
            return QCborValue(QCborValue::Undefined);
        current = current.toMap().value(segment.toString());
    }
    return current;
}

bool Matcher::lessThan(const Query &query, const Entry &a, const Entry &b)
{
    const auto attributeOf = [&query](const Entry &entry) {
        return [&query, &entry](qsizetype k) {
            return attributeValue(entry.value, query.sort().at(k).attribute);
        };
    };
    const int order = compareSortKeys(query, attributeOf(a), attributeOf(b));
    return order != 0 ? order < 0 : a.key < b.key;
}

QList<QCborValue> Matcher::sortValues(const Query &query, const QCborValue &value)
{
    QList<QCborValue> values;
    values.reserve(query.sort().size());
    for (const Query::SortKey &key : query.sort())
        values.append(attributeValue(value, key.attribute));
    return values;
}

int Matcher::compare(const Query &query, const QList<QCborValue> &valuesA, const QString &keyA,
    const QList<QCborValue> &valuesB, const QString &keyB)
{
    const int order = compareSortKeys(
        query, [&valuesA](qsizetype k) -> const QCborValue & { return valuesA.at(k); },
        [&valuesB](qsizetype k) -> const QCborValue & { return valuesB.at(k); });
    return order != 0 ? order : QStringView(keyA).compare(QStringView(keyB));
}

QList<Matcher::Entry> Matcher::sortAndLimit(const Query &query, QList<Entry> entries, bool *hasMore)
{
    // Attribute lookups happen once per entry, not once per comparison.
    struct Keyed {
        QList<QCborValue> sortValues;
        qsizetype index;
    };
    std::vector<Keyed> keyed;
    keyed.reserve(size_t(entries.size()));
    for (qsizetype i = 0; i < entries.size(); ++i) {
        Keyed item { {}, i };
        for (const Query::SortKey &key : query.sort())
            item.sortValues.append(attributeValue(entries.at(i).value, key.attribute));
        keyed.push_back(std::move(item));
    }
    std::stable_sort(keyed.begin(), keyed.end(), [&](const Keyed &a, const Keyed &b) {
        const int order = compareSortKeys(
            query, [&a](qsizetype k) { return a.sortValues.at(k); },
            [&b](qsizetype k) { return b.sortValues.at(k); });
        return order != 0 ? order < 0 : entries.at(a.index).key < entries.at(b.index).key;
    });

    const qsizetype limit
        = query.limit() > 0 ? std::min<qsizetype>(query.limit(), entries.size()) : entries.size();
    if (hasMore)
        *hasMore = limit < entries.size();
    QList<Entry> result;
    result.reserve(limit);
    for (qsizetype i = 0; i < limit; ++i)
        result.append(std::move(entries[keyed[size_t(i)].index]));
    return result;
}

} // namespace wingman::query

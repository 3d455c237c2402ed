#include "query/Query.h"

#include <cmath>

namespace wingman::query {

namespace {

bool isAbsent(const QCborValue &value)
{
    return value.isUndefined() || value.isNull();
}

std::optional<Predicate::Op> whereOperator(const QString &name)
{
    if (name == u"$eq")
        return Predicate::Op::Eq;
    if (name == u"$ne")
        return Predicate::Op::Neq;
    if (name == u"$gt")
        return Predicate::Op::Gt;
    if (name == u"$gte")
        return Predicate::Op::Gte;
    if (name == u"$lt")
        return Predicate::Op::Lt;
    if (name == u"$lte")
        return Predicate::Op::Lte;
    return std::nullopt;
}

bool isOperatorKey(const QCborValue &key)
{
    return key.isString() && key.toString().startsWith(u'$');
}

// One `where` entry as leaves: {$gt: 1, $lt: 9} gives two, anything else one equality test.
bool parseWhereEntry(const QString &attribute, const QCborValue &expected, QList<Predicate> *leaves,
    QString *problem)
{
    const QCborMap operators = expected.toMap();
    bool operatorForm = false;
    for (auto it = operators.cbegin(); it != operators.cend() && !operatorForm; ++it)
        operatorForm = isOperatorKey(it.key());
    if (!operatorForm) {
        leaves->append(Predicate::leaf(Predicate::Op::Eq, attribute, expected));
        return true;
    }
    for (auto it = operators.cbegin(); it != operators.cend(); ++it) {
        if (!isOperatorKey(it.key())) {
            *problem = QStringLiteral("cannot mix $operators and fields");
            return false;
        }
        const QString name = it.key().toString();
        const auto op = whereOperator(name);
        if (!op) {
            *problem = QStringLiteral("unknown operator '%1'").arg(name);
            return false;
        }
        leaves->append(Predicate::leaf(*op, attribute, it.value()));
    }
    return true;
}

std::optional<qint64> parseLimit(const QCborValue &value, QString *problem)
{
    if (value.isInteger()) {
        if (value.toInteger() < 0) {
            *problem = QStringLiteral("must not be negative");
            return std::nullopt;
        }
        return value.toInteger();
    }
    if (!value.isDouble()) {
        *problem = QStringLiteral("expected a number");
        return std::nullopt;
    }
    // The TopGun client sends numbers as float64, so 10.0 is a fine limit.
    const double limit = value.toDouble();
    if (std::isnan(limit) || limit < 0) {
        *problem = QStringLiteral("must not be negative");
        return std::nullopt;
    }
    if (std::isinf(limit) || limit != std::floor(limit) || limit >= 9.0e18) {
        *problem = QStringLiteral("must be a whole number");
        return std::nullopt;
    }
    return qint64(limit);
}

} // namespace

std::optional<Query> Query::fromCbor(const QCborValue &value, QString *error)
{
    const auto fail = [error](const QString &field, const QString &problem) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(field, problem);
        return std::nullopt;
    };
    Query query;
    if (isAbsent(value))
        return query;
    if (!value.isMap())
        return fail(QStringLiteral("query"), QStringLiteral("expected a map"));
    const QCborMap map = value.toMap();

    QList<Predicate> whereLeaves;
    const QCborValue where = map.value(QStringLiteral("where"));
    if (!isAbsent(where)) {
        if (!where.isMap())
            return fail(QStringLiteral("where"), QStringLiteral("expected a map"));
        query.m_where = where.toMap();
        for (auto it = query.m_where.cbegin(); it != query.m_where.cend(); ++it) {
            if (!it.key().isString() || it.key().toString().isEmpty())
                return fail(
                    QStringLiteral("where"), QStringLiteral("keys must be attribute names"));
            const QString attribute = it.key().toString();
            QString problem;
            if (!parseWhereEntry(attribute, it.value(), &whereLeaves, &problem))
                return fail(QStringLiteral("where.%1").arg(attribute), problem);
        }
    }

    const QCborValue predicate = map.value(QStringLiteral("predicate"));
    if (!isAbsent(predicate)) {
        query.m_predicate = Predicate::fromCbor(predicate, error);
        if (!query.m_predicate)
            return std::nullopt;
    }

    const QCborValue sort = map.value(QStringLiteral("sort"));
    if (!isAbsent(sort)) {
        if (!sort.isMap())
            return fail(QStringLiteral("sort"), QStringLiteral("expected a map"));
        const QCborMap sortMap = sort.toMap();
        for (auto it = sortMap.cbegin(); it != sortMap.cend(); ++it) {
            if (!it.key().isString() || it.key().toString().isEmpty())
                return fail(QStringLiteral("sort"), QStringLiteral("keys must be attribute names"));
            const QString attribute = it.key().toString();
            const QString direction = it.value().toString();
            if (direction != u"asc" && direction != u"desc") {
                return fail(QStringLiteral("sort.%1").arg(attribute),
                    QStringLiteral("expected 'asc' or 'desc'"));
            }
            query.m_sort.append(
                { attribute, direction == u"asc" ? Direction::Ascending : Direction::Descending });
        }
    }

    const QCborValue limit = map.value(QStringLiteral("limit"));
    if (!isAbsent(limit)) {
        QString problem;
        const auto parsed = parseLimit(limit, &problem);
        if (!parsed)
            return fail(QStringLiteral("limit"), problem);
        query.m_limit = *parsed;
    }

    const QCborValue cursor = map.value(QStringLiteral("cursor"));
    if (!isAbsent(cursor)) {
        if (!cursor.isString())
            return fail(QStringLiteral("cursor"), QStringLiteral("expected a string"));
        query.m_cursor = cursor.toString();
    }

    query.m_condition = query.m_predicate
        ? *query.m_predicate
        : Predicate::group(Predicate::Op::And, std::move(whereLeaves));
    return query;
}

QCborMap Query::toCbor() const
{
    QCborMap map;
    if (!m_where.isEmpty())
        map.insert(QStringLiteral("where"), m_where);
    if (m_predicate)
        map.insert(QStringLiteral("predicate"), m_predicate->toCbor());
    if (!m_sort.isEmpty()) {
        QCborMap sort;
        for (const SortKey &key : m_sort) {
            sort.insert(key.attribute,
                key.direction == Direction::Ascending ? QStringLiteral("asc")
                                                      : QStringLiteral("desc"));
        }
        map.insert(QStringLiteral("sort"), sort);
    }
    if (m_limit > 0)
        map.insert(QStringLiteral("limit"), m_limit);
    if (!m_cursor.isEmpty())
        map.insert(QStringLiteral("cursor"), m_cursor);
    return map;
}

bool operator==(const Query &a, const Query &b)
{
    return a.m_where == b.m_where && a.m_predicate == b.m_predicate && a.m_sort == b.m_sort
        && a.m_limit == b.m_limit && a.m_cursor == b.m_cursor;
}

} // namespace wingman::query

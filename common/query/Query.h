#pragma once

#include "query/Predicate.h"

#include <QCborMap>
#include <QCborValue>
#include <QList>
#include <QString>
#include <optional>

namespace wingman::query {

// A parsed protocol query, `{where?, predicate?, sort?, limit?, cursor?}`.
//
// - where: attribute -> expected value, each an equality test (deep for maps and arrays), or an
//   operator map {$eq|$ne|$gt|$gte|$lt|$lte: value} as TopGun's server accepts.
// - predicate: a Predicate tree. As in TopGun, when a predicate is present `where` is ignored.
// - sort: attribute -> "asc" | "desc", applied in the map's order; ties fall to the record key.
// - limit: how many results at most; 0 or absent means no limit (as in TopGun).
// - cursor: an opaque pagination cursor, carried for the query registry to interpret.
//
// Attribute names may be dotted paths; see Matcher for how they resolve. condition() is the
// single predicate that decides a match, so matching never has to look at `where` again.
class Query
{
public:
    enum class Direction { Ascending, Descending };
    struct SortKey {
        QString attribute;
        Direction direction = Direction::Ascending;
        friend bool operator==(const SortKey &, const SortKey &) = default;
    };

    // Matches every record, unsorted by attributes, no limit.
    Query() = default;

    // Parses a query map. Absent or null means the empty query. On a bad query returns nullopt
    // and sets *error to a reason naming the field ("sort.name: expected 'asc' or 'desc'").
    static std::optional<Query> fromCbor(const QCborValue &value, QString *error);
    QCborMap toCbor() const;

    const QCborMap &where() const { return m_where; }
    const std::optional<Predicate> &predicate() const { return m_predicate; }
    const QList<SortKey> &sort() const { return m_sort; }
    qint64 limit() const { return m_limit; } // 0: none
    const QString &cursor() const { return m_cursor; }

    // What a record must satisfy: the predicate, else the `where` tests joined by "and".
    const Predicate &condition() const { return m_condition; }

    friend bool operator==(const Query &a, const Query &b);

private:
    QCborMap m_where;
    std::optional<Predicate> m_predicate;
    QList<SortKey> m_sort;
    qint64 m_limit = 0;
    QString m_cursor;
    Predicate m_condition;
};

} // namespace wingman::query

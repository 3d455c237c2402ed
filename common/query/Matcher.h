#pragma once

#include "query/Predicate.h"
#include "query/Query.h"

#include "crdt/Value.h"

#include <QCborValue>
#include <QList>
#include <QString>

namespace wingman::query {

// Evaluates queries against record values (QCborValue, usually maps) and orders results.
//
// Semantics (TopGun's, made total where JavaScript is loose):
// - A null or undefined record value (a tombstone) matches nothing; any other value matches the
//   empty query.
// - Attributes: the name is first looked up as a literal key of the record map; if there is no
//   such key and the name contains '.', it is walked as a path ("address.city" reads
//   record["address"]["city"]). A missing attribute is undefined.
// - eq/neq: numbers compare by value across integer and float (5 == 5.0), maps and arrays
//   deeply, everything else by type and value; undefined equals only undefined, not null.
// - gt/gte/lt/lte: numbers with numbers, strings with strings (UTF-16 code units, like
//   JavaScript), booleans with booleans (false < true); any other pairing is false, as is NaN.
// - like: SQL LIKE over the whole string, '%' any run, '_' one character, case-insensitive (as
//   TopGun), no escape character; regex: a search (unanchored) with the query's pattern. Both
//   need a string attribute.
// - contains / containsAll / containsAny: case-insensitive substring tests on a string attribute.
// - and over no children is true, or over none is false.
class Matcher
{
public:
    struct Entry {
        QString key;
        QCborValue value;
        friend bool operator==(const Entry &, const Entry &) = default;
    };

    static bool matches(const Query &query, const QCborValue &value);
    // True when the query takes every live value (its condition is an empty "and").
    static bool matchesEveryLiveValue(const Query &query);
    // The same for a record's value, decoding a packed one only when the query looks inside.
    static bool matches(const Query &query, const crdt::Value &value);
    static bool matches(const Predicate &predicate, const QCborValue &value);

    // The attribute of a record value as matching and sorting see it (undefined when absent).
    static QCborValue attributeValue(const QCborValue &value, const QString &attribute);

    // Sort order of two entries under the query's sort keys, then by key (ascending). Values of
    // different kinds order as: absent/null < booleans < numbers < strings < byte arrays <
    // everything else; "desc" reverses the whole attribute order.
    static bool lessThan(const Query &query, const Entry &a, const Entry &b);

    // The values of the query's sort attributes in a record value, in sort order.
    static QList<QCborValue> sortValues(const Query &query, const QCborValue &value);
    // The order of two records given by their sort values (as sortValues gives them) and keys:
    // negative, zero (same key and values) or positive.
    static int compare(const Query &query, const QList<QCborValue> &valuesA, const QString &keyA,
        const QList<QCborValue> &valuesB, const QString &keyB);

    // Stable-sorts entries with lessThan and keeps the first query.limit() of them. *hasMore is
    // set when the limit cut something off.
    static QList<Entry> sortAndLimit(
        const Query &query, QList<Entry> entries, bool *hasMore = nullptr);
};

} // namespace wingman::query

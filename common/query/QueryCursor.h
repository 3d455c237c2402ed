#pragma once

#include "query/Query.h"

#include <QCborValue>
#include <QList>
#include <QString>
#include <optional>

namespace wingman::query {

// A page cursor (docs/protocol.md "Query windows"): the position of the last record of a window,
// the hash of the query it was made for and when. On the wire it is base64url, unpadded, of the
// JSON {"v":[sort values],"k":"key","h":hash,"t":ms}.
class QueryCursor
{
public:
    enum class Status { None, Valid, Expired, Invalid };
    static constexpr qint64 kMaxAgeMs = 10 * 60 * 1000;

    QList<QCborValue> sortValues;
    QString key;
    quint32 queryHash = 0;
    qint64 createdMs = 0;

    // FNV-1a of the query's where, predicate and sort: what a cursor must have been made for.
    static quint32 hashOf(const Query &query);

    QString encode() const;
    // nullopt when text is not a cursor's encoding.
    static std::optional<QueryCursor> decode(const QString &text);

    // What query.cursor() is worth at nowMs; *position is set when it is valid.
    static Status check(const Query &query, qint64 nowMs, QueryCursor *position);
    static QString statusName(Status status);
};

} // namespace wingman::query

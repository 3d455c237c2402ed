#pragma once

#include "crdt/Value.h"
#include "query/Matcher.h"
#include "query/Query.h"
#include "query/QueryCursor.h"

#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include <optional>
#include <set>

namespace wingman::live {

// The live result of a query with sort, limit or a cursor (docs/protocol.md "Query windows"):
// every match after the start position, in query order, of which the window is the first
// `limit` (all without a limit). A change moves one key, so the window's last member steps at
// most one place per change and nothing is sorted again.
class QueryWindow
{
public:
    struct Member {
        QString key;
        crdt::Value value;
    };
    // What one change did to the window, in the order the live feed sends it.
    struct Delta {
        QStringList left;
        QList<Member> entered;
        std::optional<Member> updated;
    };

    // start: the position the window follows (a valid cursor's); none: the first match.
    QueryWindow(query::Query query, std::optional<query::QueryCursor> start);
    QueryWindow(const QueryWindow &) = delete;
    QueryWindow &operator=(const QueryWindow &) = delete;

    // Sets key's state: matching is its value when it matches the query now, else null; tree is
    // that value as a tree, read only when the query sorts.
    void load(const QString &key, const crdt::Value *matching, const QCborValue &tree);
    // The same for a change, telling what it did to the window.
    Delta apply(const QString &key, const crdt::Value *matching, const QCborValue &tree);

    const query::Query &query() const { return m_query; }
    bool sorts() const { return !m_query.sort().isEmpty(); }
    QList<Member> members() const;
    // The members' keys, in no order.
    QSet<QString> keys() const;
    // More matches follow the window.
    bool hasMore() const;
    // The cursor of the next page, made at nowMs: the position of the window's last member.
    query::QueryCursor nextCursor(qint64 nowMs) const;

private:
    struct Item {
        QList<QCborValue> sortValues;
        QString key;
        crdt::Value value;
    };
    struct Less {
        const query::Query *query;
        bool operator()(const Item &a, const Item &b) const
        {
            return query::Matcher::compare(*query, a.sortValues, a.key, b.sortValues, b.key) < 0;
        }
    };
    using Items = std::set<Item, Less>;

    bool afterStart(const Item &item) const;
    bool inWindow(Items::const_iterator it) const;
    // Moves key, held at slot (or not held: end()), to where its new state puts it; returns its
    // item, or end() when it no longer belongs to the window's matches.
    Items::iterator place(QHash<QString, Items::iterator>::iterator slot, const QString &key,
        const crdt::Value *matching, const QCborValue &tree);
    // Both keep m_last on the window's last member; neither touches m_byKey.
    Items::iterator insert(Item item);
    void erase(Items::iterator it);

    const query::Query m_query;
    const std::optional<query::QueryCursor> m_start;
    const qint64 m_limit;
    // Without sort, limit or start every match is a member: a key set does, ordered only when
    // members() is asked (a plain query's first evaluation).
    const bool m_ordered;
    QHash<QString, crdt::Value> m_unordered;
    Items m_items;
    QHash<QString, Items::iterator> m_byKey;
    // The window's last member when it has a limit; end() while it is empty.
    Items::iterator m_last;
};

} // namespace wingman::live

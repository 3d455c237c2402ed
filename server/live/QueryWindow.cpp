#include "live/QueryWindow.h"

#include <QVarLengthArray>

namespace wingman::live {

using query::Matcher;

QueryWindow::QueryWindow(query::Query query, std::optional<query::QueryCursor> start)
    : m_query(std::move(query))
    , m_start(std::move(start))
    , m_limit(m_query.limit())
    , m_items(Less { &m_query })
    , m_last(m_items.end())
{ }

void QueryWindow::load(const QString &key, const crdt::Value *matching, const QCborValue &tree)
{
    if (const auto old = m_byKey.constFind(key); old != m_byKey.cend())
        erase(*old);
    if (!matching)
        return;
    Item item { sorts() ? Matcher::sortValues(m_query, tree) : QList<QCborValue>(), key,
        *matching };
    if (afterStart(item))
        insert(std::move(item));
}

QueryWindow::Delta QueryWindow::apply(
    const QString &key, const crdt::Value *matching, const QCborValue &tree)
{
    // Only the key itself and the members around the window's end can change sides.
    QVarLengthArray<QString, 3> candidates { key };
    if (m_limit > 0 && m_last != m_items.end()) {
        candidates.append(m_last->key);
        if (const auto next = std::next(m_last); next != m_items.end())
            candidates.append(next->key);
    }
    QVarLengthArray<bool, 3> before;
    for (const QString &candidate : candidates)
        before.append(inWindow(candidate));

    load(key, matching, tree);

    Delta delta;
    for (qsizetype i = 0; i < candidates.size(); ++i) {
        const QString &candidate = candidates.at(i);
        if (i > 0 && candidate == key)
            continue;
        const bool after = inWindow(candidate);
        if (before.at(i) && !after) {
            delta.left.append(candidate);
        } else if (after) {
            const Member member { candidate, m_byKey.value(candidate)->value };
            if (!before.at(i))
                delta.entered.append(member);
            else if (i == 0)
                delta.updated = member;
        }
    }
    return delta;
}

QList<QueryWindow::Member> QueryWindow::members() const
{
    QList<Member> members;
    if (m_limit > 0 && m_last == m_items.end())
        return members;
    const auto end = m_limit > 0 ? std::next(Items::const_iterator(m_last)) : m_items.cend();
    for (auto it = m_items.cbegin(); it != end; ++it)
        members.append({ it->key, it->value });
    return members;
}

bool QueryWindow::hasMore() const
{
    return m_limit > 0 && qint64(m_items.size()) > m_limit;
}

query::QueryCursor QueryWindow::nextCursor(qint64 nowMs) const
{
    query::QueryCursor cursor;
    if (m_last != m_items.end()) {
        cursor.sortValues = m_last->sortValues;
        cursor.key = m_last->key;
    }
    cursor.queryHash = query::QueryCursor::hashOf(m_query);
    cursor.createdMs = nowMs;
    return cursor;
}

bool QueryWindow::afterStart(const Item &item) const
{
    return !m_start
        || Matcher::compare(m_query, item.sortValues, item.key, m_start->sortValues, m_start->key)
        > 0;
}

bool QueryWindow::inWindow(Items::const_iterator it) const
{
    if (m_limit == 0)
        return true;
    return m_last != m_items.end() && !Less { &m_query }(*m_last, *it);
}

bool QueryWindow::inWindow(const QString &key) const
{
    const auto it = m_byKey.constFind(key);
    return it != m_byKey.cend() && inWindow(Items::const_iterator(*it));
}

void QueryWindow::insert(Item item)
{
    const QString key = item.key;
    const auto it = m_items.insert(std::move(item)).first;
    m_byKey.insert(key, it);
    if (m_limit == 0)
        return;
    if (qint64(m_items.size()) <= m_limit)
        m_last = std::prev(m_items.end());
    else if (Less { &m_query }(*it, *m_last))
        m_last = std::prev(m_last); // the old last member is pushed out
}

void QueryWindow::erase(Items::iterator it)
{
    if (m_limit > 0 && inWindow(Items::const_iterator(it))) {
        if (const auto next = std::next(m_last); next != m_items.end())
            m_last = next; // the first match after the window refills it
        else if (it == m_last)
            m_last = it == m_items.begin() ? m_items.end() : std::prev(it);
    }
    m_byKey.remove(it->key);
    m_items.erase(it);
}

} // namespace wingman::live

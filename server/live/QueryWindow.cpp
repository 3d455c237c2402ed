#include "live/QueryWindow.h"

#include <algorithm>

namespace wingman::live {

using query::Matcher;

QueryWindow::QueryWindow(query::Query query, std::optional<query::QueryCursor> start)
    : m_query(std::move(query))
    , m_start(std::move(start))
    , m_limit(m_query.limit())
    , m_ordered(m_limit > 0 || m_start || !m_query.sort().isEmpty())
    , m_items(Less { &m_query })
    , m_last(m_items.end())
{ }

void QueryWindow::load(const QString &key, const crdt::Value *matching, const QCborValue &tree)
{
    if (!m_ordered) {
        if (matching)
            m_unordered.insert(key, *matching);
        else
            m_unordered.remove(key);
        return;
    }
    place(m_byKey.find(key), key, matching, tree);
}

QueryWindow::Delta QueryWindow::apply(
    const QString &key, const crdt::Value *matching, const QCborValue &tree)
{
    Delta delta;
    if (!m_ordered) {
        const auto it = m_unordered.find(key);
        const bool wasIn = it != m_unordered.end();
        if (matching) {
            if (wasIn)
                *it = *matching;
            else
                m_unordered.insert(key, *matching);
            if (wasIn)
                delta.updated = Member { key, *matching };
            else
                delta.entered.append({ key, *matching });
        } else if (wasIn) {
            m_unordered.erase(it);
            delta.left.append(key);
        }
        return delta;
    }
    // Only the key itself, the window's last member (pushed out) and the first match after it
    // (a refill) can change sides; the key's own slot is found once, the others are iterators.
    const auto slot = m_byKey.find(key);
    const bool wasIn = slot != m_byKey.end() && inWindow(*slot);
    auto last = m_items.end();
    auto next = m_items.end();
    if (m_limit > 0 && m_last != m_items.end()) {
        last = m_last;
        next = std::next(m_last);
    }
    if (slot != m_byKey.end()) {
        if (last == *slot)
            last = m_items.end();
        if (next == *slot)
            next = m_items.end();
    }

    const auto placed = place(slot, key, matching, tree);
    const bool isIn = placed != m_items.end() && inWindow(placed);

    if (wasIn && !isIn)
        delta.left.append(key);
    if (last != m_items.end() && !inWindow(last))
        delta.left.append(last->key);
    if (!wasIn && isIn)
        delta.entered.append({ key, placed->value });
    if (next != m_items.end() && inWindow(next))
        delta.entered.append({ next->key, next->value });
    if (wasIn && isIn)
        delta.updated = Member { key, placed->value };
    return delta;
}

QueryWindow::Items::iterator QueryWindow::place(QHash<QString, Items::iterator>::iterator slot,
    const QString &key, const crdt::Value *matching, const QCborValue &tree)
{
    if (slot != m_byKey.end())
        erase(*slot);
    if (matching) {
        Item item { sorts() ? Matcher::sortValues(m_query, tree) : QList<QCborValue>(), key,
            *matching };
        if (afterStart(item)) {
            const auto placed = insert(std::move(item));
            if (slot != m_byKey.end())
                *slot = placed;
            else
                m_byKey.insert(key, placed);
            return placed;
        }
    }
    if (slot != m_byKey.end())
        m_byKey.erase(slot);
    return m_items.end();
}

QList<QueryWindow::Member> QueryWindow::members() const
{
    QList<Member> members;
    if (!m_ordered) {
        members.reserve(m_unordered.size());
        for (auto it = m_unordered.cbegin(); it != m_unordered.cend(); ++it)
            members.append({ it.key(), it.value() });
        std::sort(members.begin(), members.end(),
            [](const Member &a, const Member &b) { return a.key < b.key; });
        return members;
    }
    if (m_limit > 0 && m_last == m_items.end())
        return members;
    const auto end = m_limit > 0 ? std::next(Items::const_iterator(m_last)) : m_items.cend();
    for (auto it = m_items.cbegin(); it != end; ++it)
        members.append({ it->key, it->value });
    return members;
}

QSet<QString> QueryWindow::keys() const
{
    if (!m_ordered) {
        QSet<QString> keys;
        keys.reserve(m_unordered.size());
        for (auto it = m_unordered.cbegin(); it != m_unordered.cend(); ++it)
            keys.insert(it.key());
        return keys;
    }
    QSet<QString> keys;
    for (const Member &member : members())
        keys.insert(member.key);
    return keys;
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

QueryWindow::Items::iterator QueryWindow::insert(Item item)
{
    const auto it = m_items.insert(std::move(item)).first;
    if (m_limit == 0)
        return it;
    if (qint64(m_items.size()) <= m_limit)
        m_last = std::prev(m_items.end());
    else if (Less { &m_query }(*it, *m_last))
        m_last = std::prev(m_last); // the old last member is pushed out
    return it;
}

void QueryWindow::erase(Items::iterator it)
{
    if (m_limit > 0 && inWindow(Items::const_iterator(it))) {
        if (const auto next = std::next(m_last); next != m_items.end())
            m_last = next; // the first match after the window refills it
        else if (it == m_last)
            m_last = it == m_items.begin() ? m_items.end() : std::prev(it);
    }
    m_items.erase(it);
}

} // namespace wingman::live

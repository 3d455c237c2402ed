#pragma once

#include "ops/ChangeSet.h"
#include "protocol/JournalMessages.h"
#include "storage/Storage.h"

#include <QLoggingCategory>
#include <QStringList>

#include <deque>
#include <functional>
#include <optional>

namespace wingman::crdt {
class Hlc;
}

namespace wingman::journal {

Q_DECLARE_LOGGING_CATEGORY(lcJournal)

// One kept event: its number, when it was journaled, and what it says.
struct JournalEntry {
    quint64 sequence = 0;
    qint64 millis = 0;
    protocol::JournalEvent event;
};

// The node's event journal (docs/protocol.md "Event journal", docs/cluster.md §7): every effective
// change the Committer commits, numbered per node from 0 without reuse, kept newest `capacity`
// (younger than `ttlMs` when set) in memory for reads and in storage across restarts, one row
// per commit. Entries are written in the same storage commit as the changes they describe and
// become readable, and go to the listener, once that commit succeeded. A failed commit leaves its
// numbers unused for good.
class EventJournal
{
public:
    struct Options {
        qint64 capacity = 10000;
        qint64 ttlMs = 0; // 0: no age limit
        QStringList maps; // patterns; empty: every map
        QStringList excludeMaps;
    };
    struct Page {
        QList<JournalEntry> entries;
        bool hasMore = false;
    };
    using Listener = std::function<void(const QList<JournalEntry> &)>;
    using Filter = std::function<bool(const JournalEntry &)>;

    EventJournal(Options options, crdt::Hlc &hlc);

    bool journals(const QString &mapName) const;
    // The entries storage kept, oldest first; the numbering continues after the newest.
    void load(const QList<storage::StoredJournalEntry> &stored);
    // The Committer's journal hook: numbers the changes' events in the order they happened,
    // appends their writes (and a trim now and then) to writes; the returned function keeps them
    // once committed.
    std::function<void()> prepare(
        const ops::ChangeSet &changes, QList<storage::StorageWrite> &writes);
    // Kept entries with sequence >= from that filter accepts, oldest first, at most limit.
    Page read(quint64 from, qsizetype limit, const Filter &filter = {});
    void setListener(Listener listener) { m_listener = std::move(listener); }

    quint64 nextSequence() const { return m_next; }
    qsizetype size() const { return qsizetype(m_entries.size()); }

    // The event one change makes, without its sequence and node id: PUT, UPDATE or DELETE by
    // docs/protocol.md's rule; nullopt for a change that says nothing the journal keeps.
    static std::optional<protocol::JournalEvent> eventOf(const live::Change &change);

private:
    void commit(const QList<JournalEntry> &entries);
    void dropExpired();
    // The first sequence storage needs to keep, firstNew being the first of the entries about to
    // be committed; the newest entry always stays, so that a restart knows the numbering.
    quint64 keepFrom(quint64 firstNew) const;

    Options m_options;
    crdt::Hlc &m_hlc;
    std::deque<JournalEntry> m_entries;
    quint64 m_next = 0;
    quint64 m_storedFrom = 0; // storage rows ending before this sequence are gone
    Listener m_listener;
};

} // namespace wingman::journal

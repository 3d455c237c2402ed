#include "journal/EventJournal.h"

#include "auth/SecurityPolicy.h"
#include "crdt/Hlc.h"
#include "journal/JournalHandler.h"
#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

#include <QCborArray>
#include <QHash>

#include <algorithm>
#include <memory>

namespace wingman::journal {

Q_LOGGING_CATEGORY(lcJournal, "wingman.journal")

namespace {

const QString kPut = QStringLiteral("PUT");
const QString kUpdate = QStringLiteral("UPDATE");
const QString kDelete = QStringLiteral("DELETE");

bool matchesAny(const QStringList &patterns, const QString &mapName)
{
    return std::any_of(patterns.cbegin(), patterns.cend(), [&](const QString &pattern) {
        return auth::SecurityPolicy::matchesPattern(pattern, mapName);
    });
}

// A stored row: the entries' events as one MessagePack array.
QByteArray encode(const QList<JournalEntry> &entries)
{
    QByteArray bytes;
    wire::MsgPackWriter out(bytes, 64 + entries.size() * 192);
    out.arrayHeader(quint32(entries.size()));
    for (const JournalEntry &entry : entries)
        entry.event.write(out);
    out.finish();
    return bytes;
}

// A stored row's events, each with its sequence; false when the row cannot be read.
bool decode(const storage::StoredJournalEntry &row, QList<JournalEntry> *entries)
{
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(row.events);
    if (!decoded.ok || !decoded.value.isArray())
        return false;
    for (const QCborValue &item : decoded.value.toArray()) {
        std::optional<protocol::JournalEvent> event
            = item.isMap() ? protocol::JournalEvent::fromCbor(item.toMap()) : std::nullopt;
        const std::optional<quint64> sequence
            = event ? JournalHandler::parseSequence(event->sequence) : std::nullopt;
        if (!sequence)
            return false;
        entries->append({ *sequence, row.millis, std::move(*event) });
    }
    return true;
}

} // namespace

EventJournal::EventJournal(Options options, crdt::Hlc &hlc)
    : m_options(std::move(options))
    , m_hlc(hlc)
{
    m_options.capacity = std::max<qint64>(m_options.capacity, 1);
}

bool EventJournal::journals(const QString &mapName) const
{
    if (!m_options.maps.isEmpty() && !matchesAny(m_options.maps, mapName))
        return false;
    return !matchesAny(m_options.excludeMaps, mapName);
}

std::optional<protocol::JournalEvent> EventJournal::eventOf(const live::Change &change)
{
    const protocol::ServerEventPayload &payload = change.event;
    protocol::JournalEvent event;
    event.mapName = payload.mapName;
    event.key = payload.key;
    if (payload.record) {
        const crdt::LwwRecord &record = *payload.record;
        event.timestamp = record.timestamp;
        event.previousValue = change.previous;
        if (record.isTombstone()) {
            event.type = kDelete;
        } else {
            event.type = change.wasLive.value_or(false) ? kUpdate : kPut;
            event.value = record.value;
        }
        return event;
    }
    if (payload.orRecord) {
        event.type = change.wasLive.value_or(false) ? kUpdate : kPut;
        event.value = payload.orRecord->value;
        event.timestamp = payload.orRecord->timestamp;
        return event;
    }
    if (payload.orTag) {
        // A tag is its record's timestamp in string form (docs/core.md "OR map").
        const std::optional<crdt::Timestamp> stamp = crdt::Timestamp::fromString(*payload.orTag);
        if (!stamp)
            return std::nullopt;
        event.type = kDelete;
        event.previousValue = change.previous;
        event.timestamp = *stamp;
        return event;
    }
    return std::nullopt;
}

void EventJournal::load(const QList<storage::StoredJournalEntry> &stored)
{
    m_entries.clear();
    qsizetype undecodable = 0;
    for (const storage::StoredJournalEntry &row : stored) {
        m_next = std::max(m_next, quint64(std::max<qint64>(row.sequence, 0)) + 1);
        QList<JournalEntry> entries;
        if (!decode(row, &entries)) {
            ++undecodable;
            continue;
        }
        for (JournalEntry &entry : entries) {
            if (!m_entries.empty() && entry.sequence <= m_entries.back().sequence)
                continue;
            m_next = std::max(m_next, entry.sequence + 1);
            m_entries.push_back(std::move(entry));
        }
    }
    if (undecodable > 0)
        qCWarning(lcJournal) << "skipped" << undecodable << "undecodable journal rows";
    m_storedFrom
        = stored.isEmpty() ? m_next : quint64(std::max<qint64>(stored.first().sequence, 0));
    while (qint64(m_entries.size()) > m_options.capacity)
        m_entries.pop_front();
    dropExpired();
    qCInfo(lcJournal).noquote() << QStringLiteral("event journal: %1 events kept, next sequence %2")
                                       .arg(m_entries.size())
                                       .arg(m_next);
}

quint64 EventJournal::keepFrom(quint64 firstNew) const
{
    const quint64 newest = m_next - 1;
    quint64 from = m_next > quint64(m_options.capacity) ? m_next - quint64(m_options.capacity) : 0;
    if (m_options.ttlMs > 0) {
        const qint64 horizon = m_hlc.clockMillis() - m_options.ttlMs;
        const auto young = std::find_if(m_entries.cbegin(), m_entries.cend(),
            [horizon](const JournalEntry &entry) { return entry.millis > horizon; });
        from = std::max(from, young == m_entries.cend() ? firstNew : young->sequence);
    }
    return std::min(from, newest);
}

std::function<void()> EventJournal::prepare(
    const ops::ChangeSet &changes, QList<storage::StorageWrite> &writes)
{
    auto entries = std::make_shared<QList<JournalEntry>>();
    const qint64 millis = m_hlc.clockMillis();
    const auto &byMap = changes.changesByMap();
    // Changes are kept by map; each announced one has one write, so the writes give their order.
    QHash<QString, qsizetype> taken;
    for (const storage::StorageWrite &write : changes.writes()) {
        using Kind = storage::StorageWrite::Kind;
        if (write.kind != Kind::LwwPut && write.kind != Kind::OrPut
            && write.kind != Kind::OrTombstone)
            continue;
        const auto list = byMap.constFind(write.mapName);
        qsizetype &index = taken[write.mapName];
        if (list == byMap.cend() || index >= list->size())
            continue;
        const live::Change &change = list->at(index++);
        if (!journals(write.mapName))
            continue;
        std::optional<protocol::JournalEvent> event = eventOf(change);
        if (!event)
            continue;
        const quint64 sequence = m_next++;
        event->sequence = QString::number(sequence);
        event->nodeId = m_hlc.nodeId();
        entries->append({ sequence, millis, std::move(*event) });
    }
    if (entries->isEmpty())
        return {};
    // One row per commit: a row costs the writer more than its bytes do.
    storage::StorageWrite append;
    append.kind = storage::StorageWrite::Kind::JournalAppend;
    append.journal = { qint64(entries->last().sequence), millis, encode(*entries) };
    writes.append(std::move(append));
    // Trimmed in steps, so that most commits carry no DELETE; load() cuts to capacity again.
    const quint64 from = keepFrom(entries->first().sequence);
    const quint64 step = quint64(std::max<qint64>(m_options.capacity / 16, 1));
    if (from >= m_storedFrom + step) {
        storage::StorageWrite trim;
        trim.kind = storage::StorageWrite::Kind::JournalTrim;
        trim.journal.sequence = qint64(from);
        writes.append(std::move(trim));
        m_storedFrom = from;
    }
    return [this, entries] { commit(*entries); };
}

void EventJournal::commit(const QList<JournalEntry> &entries)
{
    for (const JournalEntry &entry : entries)
        m_entries.push_back(entry);
    while (qint64(m_entries.size()) > m_options.capacity)
        m_entries.pop_front();
    if (m_listener)
        m_listener(entries);
}

void EventJournal::dropExpired()
{
    if (m_options.ttlMs <= 0)
        return;
    const qint64 horizon = m_hlc.clockMillis() - m_options.ttlMs;
    while (!m_entries.empty() && m_entries.front().millis <= horizon)
        m_entries.pop_front();
}

EventJournal::Page EventJournal::read(quint64 from, qsizetype limit, const Filter &filter)
{
    dropExpired();
    Page page;
    auto it = std::lower_bound(m_entries.cbegin(), m_entries.cend(), from,
        [](const JournalEntry &entry, quint64 sequence) { return entry.sequence < sequence; });
    for (; it != m_entries.cend(); ++it) {
        if (filter && !filter(*it))
            continue;
        if (page.entries.size() == limit) {
            page.hasMore = true;
            break;
        }
        page.entries.append(*it);
    }
    return page;
}

} // namespace wingman::journal

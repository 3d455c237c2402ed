#include "journal/EventJournal.h"

#include "auth/SecurityPolicy.h"
#include "crdt/Hlc.h"
#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

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

QByteArray encode(const protocol::JournalEvent &event)
{
    QByteArray bytes;
    wire::MsgPackWriter out(bytes, 192);
    event.write(out);
    out.finish();
    return bytes;
}

std::optional<protocol::JournalEvent> decode(const QByteArray &bytes)
{
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(bytes);
    if (!decoded.ok || !decoded.value.isMap())
        return std::nullopt;
    return protocol::JournalEvent::fromCbor(decoded.value.toMap());
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
        const auto sequence = quint64(std::max<qint64>(row.sequence, 0));
        m_next = std::max(m_next, sequence + 1);
        std::optional<protocol::JournalEvent> event = decode(row.event);
        if (!event) {
            ++undecodable;
            continue;
        }
        event->sequence = QString::number(sequence);
        m_entries.push_back({ sequence, row.millis, std::move(*event) });
    }
    if (undecodable > 0)
        qCWarning(lcJournal) << "skipped" << undecodable << "undecodable journal entries";
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
        storage::StorageWrite append;
        append.kind = Kind::JournalAppend;
        append.journal = { qint64(sequence), millis, encode(*event) };
        writes.append(std::move(append));
        entries->append({ sequence, millis, std::move(*event) });
    }
    if (entries->isEmpty())
        return {};
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

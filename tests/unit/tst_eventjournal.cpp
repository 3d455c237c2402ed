// The event journal's own rules (docs/protocol.md "Event journal"): which change makes which
// event, numbering, reads, retention by capacity and age, and what goes to storage.
#include "crdt/Hlc.h"
#include "journal/EventJournal.h"
#include "journal/JournalHandler.h"

#include <QTest>

using namespace wingman;
using namespace wingman::journal;
using namespace Qt::StringLiterals;
using Kind = storage::StorageWrite::Kind;

namespace {

crdt::LwwRecord lww(const QCborValue &value, qint64 millis)
{
    return crdt::LwwRecord { value, { millis, 0, u"client"_s }, std::nullopt };
}

// One LWW change per key of map, as the write path builds them.
ops::ChangeSet puts(const QString &map, const QStringList &keys, qint64 millis = 1000)
{
    ops::ChangeSet changes;
    for (const QString &key : keys) {
        changes.lwwPut(map, key, lww(key, millis), protocol::ServerEventType::Put,
            crdt::Value(QCborValue(key)), false);
    }
    return changes;
}

QList<storage::StorageWrite> writesOf(const QList<storage::StorageWrite> &writes, Kind kind)
{
    QList<storage::StorageWrite> found;
    for (const storage::StorageWrite &write : writes) {
        if (write.kind == kind)
            found.append(write);
    }
    return found;
}

QStringList keysOf(const EventJournal::Page &page)
{
    QStringList keys;
    for (const JournalEntry &entry : page.entries)
        keys.append(entry.event.key);
    return keys;
}

} // namespace

class TestEventJournal : public QObject
{
    Q_OBJECT

    qint64 m_now = 1'700'000'000'000;
    crdt::Hlc m_hlc { u"node-a"_s, [this] { return m_now; } };

    // Prepares changes and commits them at once, as a storage commit that succeeded would.
    QList<storage::StorageWrite> commit(EventJournal &journal, const ops::ChangeSet &changes)
    {
        QList<storage::StorageWrite> writes = changes.writes();
        if (const std::function<void()> committed = journal.prepare(changes, writes))
            committed();
        return writes;
    }

private Q_SLOTS:
    void lwwEventTypes();
    void orEventTypes();
    void numbersFromZeroAndStoresEachEvent();
    void numbersInTheOrderOfTheChangesAcrossMaps();
    void uncommittedEntriesAreNotReadable();
    void readFiltersBeforeLimit();
    void readFromBeforeOldestStartsAtOldest();
    void mapsAndExcludedMaps();
    void capacityKeepsNewestAndTrimsStorage();
    void ttlDropsOldEventsButKeepsNumbering();
    void loadContinuesNumbering();
    void parseSequence_data();
    void parseSequence();
};

void TestEventJournal::lwwEventTypes()
{
    live::Change put;
    put.event = { u"m"_s, protocol::ServerEventType::Put, u"k"_s, lww(u"v1"_s, 5), {}, {} };
    put.wasLive = false;
    auto event = EventJournal::eventOf(put);
    QVERIFY(event);
    QCOMPARE(event->type, u"PUT"_s);
    QCOMPARE(event->value->toCbor(), QCborValue(u"v1"_s));
    QVERIFY(!event->previousValue);
    QCOMPARE(event->timestamp, put.event.record->timestamp);

    live::Change update = put;
    update.wasLive = true;
    update.previous = crdt::Value(QCborValue(u"v0"_s));
    event = EventJournal::eventOf(update);
    QCOMPARE(event->type, u"UPDATE"_s);
    QCOMPARE(event->previousValue->toCbor(), QCborValue(u"v0"_s));

    live::Change remove = update;
    remove.event.eventType = protocol::ServerEventType::Remove;
    remove.event.record = lww(QCborValue(nullptr), 6);
    event = EventJournal::eventOf(remove);
    QCOMPARE(event->type, u"DELETE"_s);
    QVERIFY(!event->value);
    QCOMPARE(event->previousValue->toCbor(), QCborValue(u"v0"_s));
}

void TestEventJournal::orEventTypes()
{
    const crdt::OrRecord record { QCborValue(u"red"_s), { 7, 1, u"c"_s }, u"7:1:c"_s, {} };
    live::Change add;
    add.event = { u"tags"_s, protocol::ServerEventType::OrAdd, u"k"_s, {}, record, {} };
    add.wasLive = false;
    QCOMPARE(EventJournal::eventOf(add)->type, u"PUT"_s);
    add.wasLive = true;
    const auto added = EventJournal::eventOf(add);
    QCOMPARE(added->type, u"UPDATE"_s);
    QCOMPARE(added->value->toCbor(), QCborValue(u"red"_s));

    live::Change removed;
    removed.event = { u"tags"_s, protocol::ServerEventType::OrRemove, u"k"_s, {}, {}, u"7:1:c"_s };
    removed.previous = crdt::Value(QCborValue(u"red"_s));
    const auto event = EventJournal::eventOf(removed);
    QCOMPARE(event->type, u"DELETE"_s);
    QVERIFY(!event->value);
    QCOMPARE(event->previousValue->toCbor(), QCborValue(u"red"_s));
    QCOMPARE(event->timestamp, (crdt::Timestamp { 7, 1, u"c"_s }));
}

void TestEventJournal::numbersFromZeroAndStoresEachEvent()
{
    EventJournal journal({}, m_hlc);
    QList<JournalEntry> heard;
    journal.setListener([&](const QList<JournalEntry> &entries) { heard += entries; });
    const auto writes = commit(journal, puts(u"m"_s, { u"a"_s, u"b"_s, u"c"_s }));
    // One row for the commit, keyed by its last sequence.
    const auto appends = writesOf(writes, Kind::JournalAppend);
    QCOMPARE(appends.size(), 1);
    QCOMPARE(writesOf(writes, Kind::LwwPut).size(), 3);
    QCOMPARE(appends.first().journal.sequence, qint64(2));
    QCOMPARE(appends.first().journal.millis, m_now);
    QVERIFY(!appends.first().journal.events.isEmpty());
    QCOMPARE(heard.size(), 3);
    QCOMPARE(heard.at(2).event.sequence, u"2"_s);
    QCOMPARE(heard.at(2).event.nodeId, u"node-a"_s);
    QCOMPARE(journal.nextSequence(), quint64(3));
}

void TestEventJournal::numbersInTheOrderOfTheChangesAcrossMaps()
{
    EventJournal journal({}, m_hlc);
    ops::ChangeSet changes = puts(u"a"_s, { u"x"_s });
    changes.lwwDelete(u"a"_s, u"pruned"_s);
    changes.lwwPut(u"b"_s, u"y"_s, lww(1, 1), protocol::ServerEventType::Put,
        crdt::Value(QCborValue(1)), false);
    changes.lwwPut(u"a"_s, u"z"_s, lww(2, 2), protocol::ServerEventType::Put,
        crdt::Value(QCborValue(2)), false);
    commit(journal, changes);
    QCOMPARE(keysOf(journal.read(0, 10)), (QStringList { u"x"_s, u"y"_s, u"z"_s }));
}

void TestEventJournal::uncommittedEntriesAreNotReadable()
{
    EventJournal journal({}, m_hlc);
    const ops::ChangeSet changes = puts(u"m"_s, { u"a"_s });
    QList<storage::StorageWrite> writes = changes.writes();
    const std::function<void()> committed = journal.prepare(changes, writes);
    QVERIFY(committed);
    QCOMPARE(journal.read(0, 10).entries.size(), 0);
    // A failed commit never runs committed: its number stays unused.
    commit(journal, puts(u"m"_s, { u"b"_s }));
    const auto page = journal.read(0, 10);
    QCOMPARE(keysOf(page), QStringList { u"b"_s });
    QCOMPARE(page.entries.first().sequence, quint64(1));
}

void TestEventJournal::readFiltersBeforeLimit()
{
    EventJournal journal({}, m_hlc);
    commit(journal, puts(u"other"_s, { u"o1"_s, u"o2"_s, u"o3"_s }));
    commit(journal, puts(u"m"_s, { u"a"_s, u"b"_s, u"c"_s }));
    const auto inM = [](const JournalEntry &entry) { return entry.event.mapName == u"m"_s; };
    EventJournal::Page page = journal.read(0, 2, inM);
    QCOMPARE(keysOf(page), (QStringList { u"a"_s, u"b"_s }));
    QVERIFY(page.hasMore);
    page = journal.read(page.entries.last().sequence + 1, 2, inM);
    QCOMPARE(keysOf(page), QStringList { u"c"_s });
    QVERIFY(!page.hasMore);
    QCOMPARE(journal.read(0, 6).entries.size(), 6);
    QVERIFY(!journal.read(0, 6).hasMore);
}

void TestEventJournal::readFromBeforeOldestStartsAtOldest()
{
    EventJournal journal({ 2, 0, {}, {} }, m_hlc);
    commit(journal, puts(u"m"_s, { u"a"_s, u"b"_s, u"c"_s, u"d"_s }));
    const auto page = journal.read(0, 10);
    QCOMPARE(keysOf(page), (QStringList { u"c"_s, u"d"_s }));
    QCOMPARE(page.entries.first().sequence, quint64(2));
    QCOMPARE(journal.read(100, 10).entries.size(), 0);
}

void TestEventJournal::mapsAndExcludedMaps()
{
    EventJournal journal({ 100, 0, { u"app.*"_s }, { u"app.secret*"_s } }, m_hlc);
    QVERIFY(journal.journals(u"app.todos"_s));
    QVERIFY(!journal.journals(u"app.secrets"_s));
    QVERIFY(!journal.journals(u"other"_s));
    ops::ChangeSet changes = puts(u"app.todos"_s, { u"a"_s });
    changes.lwwPut(u"other"_s, u"b"_s, lww(1, 1), protocol::ServerEventType::Put,
        crdt::Value(QCborValue(1)), false);
    const auto writes = commit(journal, changes);
    QCOMPARE(writesOf(writes, Kind::JournalAppend).size(), 1);
    QCOMPARE(keysOf(journal.read(0, 10)), QStringList { u"a"_s });

    EventJournal everything({}, m_hlc);
    QVERIFY(everything.journals(u"anything"_s));
}

void TestEventJournal::capacityKeepsNewestAndTrimsStorage()
{
    EventJournal journal({ 16, 0, {}, {} }, m_hlc);
    qint64 trimmedBefore = 0;
    for (int i = 0; i < 40; ++i) {
        const auto writes = commit(journal, puts(u"m"_s, { QString::number(i) }));
        for (const storage::StorageWrite &trim : writesOf(writes, Kind::JournalTrim)) {
            QVERIFY(trim.journal.sequence > trimmedBefore);
            // Never past what the capacity keeps.
            QVERIFY(trim.journal.sequence <= i + 1 - 16);
            trimmedBefore = trim.journal.sequence;
        }
    }
    QVERIFY(trimmedBefore >= 40 - 16 - 1);
    QCOMPARE(journal.size(), 16);
    QCOMPARE(journal.read(0, 100).entries.first().sequence, quint64(24));
}

void TestEventJournal::ttlDropsOldEventsButKeepsNumbering()
{
    EventJournal journal({ 16, 1000, {}, {} }, m_hlc);
    commit(journal, puts(u"m"_s, { u"old"_s }));
    m_now += 600;
    commit(journal, puts(u"m"_s, { u"young"_s }));
    m_now += 600;
    QCOMPARE(keysOf(journal.read(0, 10)), QStringList { u"young"_s });
    m_now += 5000;
    QCOMPARE(journal.read(0, 10).entries.size(), 0);
    // Storage keeps the newest row, so the numbering survives a restart.
    const auto writes = commit(journal, puts(u"m"_s, { u"new"_s, u"newer"_s }));
    const auto trims = writesOf(writes, Kind::JournalTrim);
    QCOMPARE(trims.size(), 1);
    QCOMPARE(trims.first().journal.sequence, qint64(2));
    QCOMPARE(journal.read(0, 10).entries.first().sequence, quint64(2));
}

void TestEventJournal::loadContinuesNumbering()
{
    EventJournal first({}, m_hlc);
    const auto writes = commit(first, puts(u"m"_s, { u"a"_s, u"b"_s, u"c"_s }));
    QList<storage::StoredJournalEntry> stored;
    for (const storage::StorageWrite &write : writesOf(writes, Kind::JournalAppend))
        stored.append(write.journal);

    EventJournal second({ 2, 0, {}, {} }, m_hlc);
    second.load(stored);
    QCOMPARE(second.nextSequence(), quint64(3));
    const auto page = second.read(0, 10);
    QCOMPARE(keysOf(page), (QStringList { u"b"_s, u"c"_s }));
    QCOMPARE(page.entries.last().event.value->toCbor(), QCborValue(u"c"_s));
    QCOMPARE(page.entries.last().event.nodeId, u"node-a"_s);
    QCOMPARE(page.entries.last().event.sequence, u"2"_s);
    commit(second, puts(u"m"_s, { u"d"_s }));
    QCOMPARE(second.read(3, 10).entries.first().event.sequence, u"3"_s);
}

void TestEventJournal::parseSequence_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<quint64>("value");
    QTest::newRow("zero") << u"0"_s << true << quint64(0);
    QTest::newRow("number") << u"12345"_s << true << quint64(12345);
    QTest::newRow("past 2^64") << u"99999999999999999999999"_s << true
                               << std::numeric_limits<quint64>::max();
    QTest::newRow("empty") << u""_s << false << quint64(0);
    QTest::newRow("negative") << u"-1"_s << false << quint64(0);
    QTest::newRow("hex") << u"0x10"_s << false << quint64(0);
    QTest::newRow("space") << u" 1"_s << false << quint64(0);
    QTest::newRow("fraction") << u"1.5"_s << false << quint64(0);
    QTest::newRow("arabic-indic digit") << u"\u0661"_s << false << quint64(0);
}

void TestEventJournal::parseSequence()
{
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(quint64, value);
    const std::optional<quint64> parsed = JournalHandler::parseSequence(text);
    QCOMPARE(parsed.has_value(), valid);
    if (valid)
        QCOMPARE(*parsed, value);
}

QTEST_GUILESS_MAIN(TestEventJournal)
#include "tst_eventjournal.moc"

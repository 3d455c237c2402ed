#include "TestSession.h"

#include "crdt/Hlc.h"
#include "live/QueryRegistry.h"
#include "ops/Committer.h"
#include "protocol/Messages.h"

#include <QTest>

#include <memory>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using test::ScriptedStorage;
using test::TestSession;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

// Logs each frame it is sent into a log shared with the commit's steps, to see their order.
class LoggingSession : public TestSession
{
public:
    LoggingSession(quint64 id, QStringList &log)
        : TestSession(id)
        , m_log(log)
    {
        authenticate();
    }
    void sendEncoded(const QByteArray &frame) override
    {
        m_log.append(u"publish %1"_s.arg(id()));
        TestSession::sendEncoded(frame);
    }

private:
    QStringList &m_log;
};

ops::ChangeSet onePut(const QString &key = u"k"_s, const QCborValue &value = u"v"_s)
{
    ops::ChangeSet changes;
    const crdt::LwwRecord record { value, crdt::Timestamp { kNow, 0, u"client-a"_s },
        std::nullopt };
    changes.lwwPut(u"todos"_s, key, record, ServerEventType::Put, crdt::Value(value), false);
    return changes;
}

struct Node {
    QStringList log;
    crdt::Hlc hlc { u"server-1"_s, [] { return kNow; } };
    live::QueryRegistry queries;
    ScriptedStorage storage { ScriptedStorage::Mode::Deferred };
    ops::Committer committer { storage, queries, hlc };
    LoggingSession origin { 1, log };
    LoggingSession other { 2, log };

    Node()
    {
        queries.addMapListener(&origin, u"todos"_s);
        queries.addMapListener(&other, u"todos"_s);
        committer.addObserver([this](const ops::ChangeSet &changes) {
            log.append(u"observer %1"_s.arg(changes.writeCount()));
        });
    }

    ops::Committer::Steps steps(crdt::Timestamp *acked = nullptr)
    {
        ops::Committer::Steps steps;
        steps.origin = &origin;
        steps.acknowledge = [this, acked](const crdt::Timestamp &now) {
            log.append(u"acknowledge"_s);
            if (acked)
                *acked = now;
        };
        steps.failed = [this](const QString &error) { log.append(u"failed: "_s + error); };
        steps.afterCommit = [this] { log.append(u"afterCommit"_s); };
        return steps;
    }
};

} // namespace

class TestCommitter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { m_node = std::make_unique<Node>(); }
    void cleanup() { m_node.reset(); }

    void nothingHappensBeforeStorageCommits();
    void stepsRunInOrder();
    void failureOnlyReportsIt();
    void originIsNotSentItsOwnChanges();
    void serverWritesReachEveryListener();
    void ackAndEventShareTheCommitTimestamp();
    void durabilityIsTheStorages_data();
    void durabilityIsTheStorages();
    void journalWritesCommitWithTheChanges();
    void journalHearsOnlyOfCommittedChanges();

private:
    std::unique_ptr<Node> m_node;
};

void TestCommitter::nothingHappensBeforeStorageCommits()
{
    Node &n = *m_node;
    n.committer.commit(onePut(), n.steps());

    QCOMPARE(n.storage.writes().size(), 1);
    QCOMPARE(n.storage.writes().first().size(), 1);
    QCOMPARE(n.storage.writes().first().first().key, u"k"_s);
    QVERIFY(n.log.isEmpty());
    QVERIFY(n.other.sent().isEmpty());
}

void TestCommitter::stepsRunInOrder()
{
    Node &n = *m_node;
    n.committer.commit(onePut(), n.steps());
    n.storage.release();

    QCOMPARE(n.log,
        (QStringList { u"acknowledge"_s, u"publish 2"_s, u"afterCommit"_s, u"observer 1"_s }));
}

void TestCommitter::failureOnlyReportsIt()
{
    Node &n = *m_node;
    n.committer.commit(onePut(), n.steps());
    n.storage.release(u"disk full"_s);

    QCOMPARE(n.log, QStringList { u"failed: disk full"_s });
    QVERIFY(n.other.sent().isEmpty());
}

void TestCommitter::originIsNotSentItsOwnChanges()
{
    Node &n = *m_node;
    n.committer.commit(onePut(u"a"_s, 1), n.steps());
    n.storage.release();

    QVERIFY(n.origin.sent().isEmpty());
    const auto events = n.other.typed<ServerEventMessage>();
    QCOMPARE(events.size(), 1);
    QVERIFY(events.first());
    QCOMPARE(events.first()->event.mapName, u"todos"_s);
    QCOMPARE(events.first()->event.key, u"a"_s);
    QCOMPARE(events.first()->event.eventType, ServerEventType::Put);
    QCOMPARE(events.first()->event.record->value, crdt::Value(1));
}

void TestCommitter::serverWritesReachEveryListener()
{
    Node &n = *m_node;
    n.committer.commit(onePut(), {});
    n.storage.release();

    QCOMPARE(n.origin.typed<ServerEventMessage>().size(), 1);
    QCOMPARE(n.other.typed<ServerEventMessage>().size(), 1);
}

void TestCommitter::ackAndEventShareTheCommitTimestamp()
{
    Node &n = *m_node;
    crdt::Timestamp acked;
    n.committer.commit(onePut(), n.steps(&acked));
    n.storage.release();

    const auto events = n.other.typed<ServerEventMessage>();
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first()->envelopeTimestamp, acked);
    QCOMPARE(acked.nodeId, u"server-1"_s);
}

void TestCommitter::durabilityIsTheStorages_data()
{
    QTest::addColumn<bool>("durable");
    QTest::newRow("durable") << true;
    QTest::newRow("volatile") << false;
}

void TestCommitter::durabilityIsTheStorages()
{
    QFETCH(bool, durable);
    m_node->storage.setDurable(durable);
    QCOMPARE(m_node->committer.isDurable(), durable);
}

// The journal hook's writes go to storage in the same write() as the changes.
void TestCommitter::journalWritesCommitWithTheChanges()
{
    Node &n = *m_node;
    n.committer.setJournal(
        [&n](const ops::ChangeSet &changes, QList<storage::StorageWrite> &writes) {
            storage::StorageWrite entry;
            entry.kind = storage::StorageWrite::Kind::JournalAppend;
            entry.journal.sequence = changes.writeCount();
            writes.append(entry);
            return std::function<void()>([&n] { n.log.append(u"journaled"_s); });
        });
    n.committer.commit(onePut(), n.steps());

    QCOMPARE(n.storage.writes().size(), 1);
    const QList<storage::StorageWrite> &writes = n.storage.writes().first();
    QCOMPARE(writes.size(), 2);
    QCOMPARE(writes.at(0).kind, storage::StorageWrite::Kind::LwwPut);
    QCOMPARE(writes.at(1).kind, storage::StorageWrite::Kind::JournalAppend);
    QCOMPARE(writes.at(1).journal.sequence, qint64(1));
    QVERIFY(n.log.isEmpty());
    n.storage.release();
    QCOMPARE(n.log,
        (QStringList {
            u"acknowledge"_s, u"publish 2"_s, u"journaled"_s, u"afterCommit"_s, u"observer 1"_s }));
}

void TestCommitter::journalHearsOnlyOfCommittedChanges()
{
    Node &n = *m_node;
    int asked = 0;
    n.committer.setJournal([&](const ops::ChangeSet &, QList<storage::StorageWrite> &) {
        ++asked;
        return std::function<void()>([&n] { n.log.append(u"journaled"_s); });
    });
    n.committer.commit(onePut(), n.steps());
    n.storage.release(u"disk full"_s);
    QCOMPARE(n.log, QStringList { u"failed: disk full"_s });

    // GC prunes announce nothing: the journal is not asked.
    ops::ChangeSet prunes;
    prunes.lwwDelete(u"todos"_s, u"old"_s);
    n.committer.commit(std::move(prunes), {});
    n.storage.release();
    QCOMPARE(asked, 1);
}

QTEST_GUILESS_MAIN(TestCommitter)
#include "tst_committer.moc"

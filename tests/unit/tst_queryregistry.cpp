#include "TestSession.h"

#include "live/QueryRegistry.h"
#include "protocol/Messages.h"

#include <QTest>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using live::Change;
using live::QueryRegistry;
using test::TestSession;

Q_DECLARE_METATYPE(std::optional<wingman::protocol::QueryChange>)

namespace {

const crdt::Timestamp kNow { 1'700'000'000'000, 4, u"server-1"_s };

Change put(const QString &key, const std::optional<QCborValue> &value,
    std::optional<bool> wasLive = std::nullopt)
{
    Change change;
    change.event.mapName = u"todos"_s;
    change.event.key = key;
    change.event.eventType = value ? ServerEventType::Put : ServerEventType::Remove;
    change.event.record = crdt::LwwRecord { value ? *value : QCborValue(QCborValue::Null),
        crdt::Timestamp { 1000, 0, u"c"_s }, std::nullopt };
    if (value)
        change.value = *value;
    change.wasLive = wasLive;
    return change;
}

QCborMap task(const QString &status)
{
    return QCborMap { { u"status"_s, status } };
}

query::Query openTasks()
{
    QString error;
    auto query = query::Query::fromCbor(QCborMap { { u"where"_s, task(u"open"_s) } }, &error);
    Q_ASSERT(query);
    return *query;
}

TestSession *authenticated(std::unique_ptr<TestSession> &slot, quint64 id)
{
    slot = std::make_unique<TestSession>(id);
    slot->authenticate();
    return slot.get();
}

} // namespace

class TestQueryRegistry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void oneChangeIsAServerEventToEveryListenerButTheOrigin();
    void severalChangesAreOneBatchEvent();
    void otherMapsListenersHearNothing();
    void queryUpdates_data();
    void queryUpdates();
    void liveQueryFollowingLiveness_data();
    void liveQueryFollowingLiveness();
    void updateCarriesTheValue();
    void subscriberIsSentTheEventOnceAsListenerToo();
    void unsubscribeAndRemoveConnection();
    void resubscribingReplacesTheQuery();

private:
    QueryRegistry m_registry;
    std::unique_ptr<TestSession> m_a, m_b, m_c;
};

void TestQueryRegistry::init()
{
    m_registry = QueryRegistry();
    authenticated(m_a, 1);
    authenticated(m_b, 2);
    authenticated(m_c, 3);
}

void TestQueryRegistry::oneChangeIsAServerEventToEveryListenerButTheOrigin()
{
    m_registry.addMapListener(m_a.get(), u"todos"_s);
    m_registry.addMapListener(m_b.get(), u"todos"_s);
    m_registry.addMapListener(m_c.get(), u"todos"_s);
    QCOMPARE(m_registry.listenerCount(u"todos"_s), 3);

    const Change change = put(u"k"_s, task(u"open"_s));
    m_registry.publish(u"todos"_s, { change }, m_a.get(), kNow);

    QVERIFY(m_a->sent().isEmpty());
    for (TestSession *session : { m_b.get(), m_c.get() }) {
        QCOMPARE(session->types(), QStringList { u"SERVER_EVENT"_s });
        const auto event = session->typed<ServerEventMessage>().first();
        QVERIFY(event);
        QCOMPARE(event->event, change.event);
        QCOMPARE(event->envelopeTimestamp, kNow);
    }
}

void TestQueryRegistry::severalChangesAreOneBatchEvent()
{
    m_registry.addMapListener(m_b.get(), u"todos"_s);
    const QList<Change> changes { put(u"a"_s, 1), put(u"b"_s, std::nullopt), put(u"c"_s, 3) };
    m_registry.publish(u"todos"_s, changes, nullptr, kNow);

    QCOMPARE(m_b->types(), QStringList { u"SERVER_BATCH_EVENT"_s });
    const auto batch = m_b->typed<ServerBatchEventMessage>().first();
    QVERIFY(batch);
    QCOMPARE(batch->events.size(), 3);
    for (int i = 0; i < 3; ++i)
        QCOMPARE(batch->events.at(i), changes.at(i).event);
    QCOMPARE(batch->envelopeTimestamp, kNow);
}

void TestQueryRegistry::otherMapsListenersHearNothing()
{
    m_registry.addMapListener(m_b.get(), u"notes"_s);
    m_registry.subscribe(m_c.get(), u"q"_s, u"notes"_s, query::Query(), {});
    m_registry.publish(u"todos"_s, { put(u"a"_s, 1) }, nullptr, kNow);
    QVERIFY(m_b->sent().isEmpty());
    QVERIFY(m_c->sent().isEmpty());
}

void TestQueryRegistry::queryUpdates_data()
{
    QTest::addColumn<bool>("wasIn");
    QTest::addColumn<QCborValue>("value"); // undefined: the key has no value any more
    QTest::addColumn<std::optional<QueryChange>>("change");

    QTest::newRow("enters") << false << QCborValue(task(u"open"_s))
                            << std::optional(QueryChange::Enter);
    QTest::newRow("changes in") << true << QCborValue(task(u"open"_s))
                                << std::optional(QueryChange::Update);
    QTest::newRow("stops matching")
        << true << QCborValue(task(u"done"_s)) << std::optional(QueryChange::Remove);
    QTest::newRow("removed") << true << QCborValue() << std::optional(QueryChange::Remove);
    QTest::newRow("never matched")
        << false << QCborValue(task(u"done"_s)) << std::optional<QueryChange>();
    QTest::newRow("removed, never matched")
        << false << QCborValue() << std::optional<QueryChange>();
}

void TestQueryRegistry::queryUpdates()
{
    QFETCH(bool, wasIn);
    QFETCH(QCborValue, value);
    QFETCH(std::optional<QueryChange>, change);

    QSet<QString> keys { u"other"_s };
    if (wasIn)
        keys.insert(u"k"_s);
    m_registry.subscribe(m_b.get(), u"q1"_s, u"todos"_s, openTasks(), keys);
    const std::optional<QCborValue> after
        = value.isUndefined() ? std::nullopt : std::optional<QCborValue>(value);
    m_registry.publish(u"todos"_s, { put(u"k"_s, after) }, m_a.get(), kNow);

    // A live query's holder also hears the change itself.
    QCOMPARE(m_b->typed<ServerEventMessage>().size(), 1);
    const auto updates = m_b->typed<QueryUpdateMessage>();
    if (!change) {
        QCOMPARE(updates.size(), 0);
    } else {
        QCOMPARE(updates.size(), 1);
        QVERIFY(updates.first());
        QCOMPARE(updates.first()->queryId, u"q1"_s);
        QCOMPARE(updates.first()->key, u"k"_s);
        QCOMPARE(updates.first()->change, *change);
        if (*change == QueryChange::Remove)
            QVERIFY(updates.first()->value.isNull());
    }

    // The result set followed the change: a second identical change says UPDATE or nothing.
    m_b->clear();
    m_registry.publish(u"todos"_s, { put(u"k"_s, after) }, m_a.get(), kNow);
    const auto again = m_b->typed<QueryUpdateMessage>();
    if (change && *change != QueryChange::Remove) {
        QCOMPARE(again.size(), 1);
        QCOMPARE(again.first()->change, QueryChange::Update);
    } else {
        QCOMPARE(again.size(), 0);
    }
}

void TestQueryRegistry::liveQueryFollowingLiveness_data()
{
    QTest::addColumn<bool>("wasLive");
    QTest::addColumn<bool>("hasValue");
    QTest::addColumn<std::optional<QueryChange>>("change");

    QTest::newRow("new key") << false << true << std::optional(QueryChange::Enter);
    QTest::newRow("changed key") << true << true << std::optional(QueryChange::Update);
    QTest::newRow("removed key") << true << false << std::optional(QueryChange::Remove);
    QTest::newRow("tombstone over tombstone") << false << false << std::optional<QueryChange>();
}

void TestQueryRegistry::liveQueryFollowingLiveness()
{
    QFETCH(bool, wasLive);
    QFETCH(bool, hasValue);
    QFETCH(std::optional<QueryChange>, change);

    // followsLiveness: the key set passed is not kept, so it cannot decide.
    m_registry.subscribe(m_b.get(), u"all"_s, u"todos"_s, query::Query(), { u"k"_s }, true);
    m_registry.publish(u"todos"_s,
        { put(u"k"_s, hasValue ? std::optional<QCborValue>(1) : std::nullopt, wasLive) }, nullptr,
        kNow);

    const auto updates = m_b->typed<QueryUpdateMessage>();
    QCOMPARE(updates.size(), change ? 1 : 0);
    if (change)
        QCOMPARE(updates.first()->change, *change);
}

void TestQueryRegistry::updateCarriesTheValue()
{
    m_registry.subscribe(m_b.get(), u"q1"_s, u"todos"_s, openTasks(), {});
    m_registry.subscribe(m_c.get(), u"q2"_s, u"todos"_s, openTasks(), {});
    const QCborMap value { { u"status"_s, u"open"_s }, { u"title"_s, u"milk"_s } };
    m_registry.publish(u"todos"_s, { put(u"k"_s, QCborValue(value)) }, nullptr, kNow);

    for (const auto &[session, queryId] :
        { std::pair { m_b.get(), u"q1"_s }, std::pair { m_c.get(), u"q2"_s } }) {
        const auto updates = session->typed<QueryUpdateMessage>();
        QCOMPARE(updates.size(), 1);
        QCOMPARE(updates.first()->queryId, queryId);
        QCOMPARE(updates.first()->value, QCborValue(value));
    }
}

void TestQueryRegistry::subscriberIsSentTheEventOnceAsListenerToo()
{
    m_registry.addMapListener(m_b.get(), u"todos"_s);
    m_registry.subscribe(m_b.get(), u"q1"_s, u"todos"_s, openTasks(), {});
    m_registry.publish(u"todos"_s, { put(u"k"_s, task(u"open"_s)) }, nullptr, kNow);
    QCOMPARE(m_b->types(), (QStringList { u"SERVER_EVENT"_s, u"QUERY_UPDATE"_s }));
}

void TestQueryRegistry::unsubscribeAndRemoveConnection()
{
    m_registry.subscribe(m_b.get(), u"q1"_s, u"todos"_s, openTasks(), {});
    m_registry.subscribe(m_c.get(), u"q1"_s, u"todos"_s, openTasks(), {});
    m_registry.addMapListener(m_c.get(), u"notes"_s);
    QCOMPARE(m_registry.subscriptionCount(), 2);

    QVERIFY(m_registry.unsubscribe(m_b.get(), u"q1"_s));
    QVERIFY(!m_registry.unsubscribe(m_b.get(), u"q1"_s));
    QCOMPARE(m_registry.subscriptionCount(), 1);
    m_registry.publish(u"todos"_s, { put(u"k"_s, task(u"open"_s)) }, nullptr, kNow);
    QVERIFY(m_b->sent().isEmpty());
    QCOMPARE(m_c->typed<QueryUpdateMessage>().size(), 1);

    m_registry.removeConnection(m_c.get());
    QCOMPARE(m_registry.subscriptionCount(), 0);
    QCOMPARE(m_registry.listenerCount(u"notes"_s), 0);
    m_c->clear();
    m_registry.publish(u"todos"_s, { put(u"j"_s, task(u"open"_s)) }, nullptr, kNow);
    m_registry.publish(u"notes"_s, { put(u"j"_s, 1) }, nullptr, kNow);
    QVERIFY(m_c->sent().isEmpty());
}

void TestQueryRegistry::resubscribingReplacesTheQuery()
{
    m_registry.subscribe(m_b.get(), u"q1"_s, u"todos"_s, openTasks(), {});
    m_registry.subscribe(m_b.get(), u"q1"_s, u"todos"_s, query::Query(), {});
    QCOMPARE(m_registry.subscriptionCount(), 1);
    m_registry.publish(u"todos"_s, { put(u"k"_s, task(u"done"_s)) }, nullptr, kNow);
    const auto updates = m_b->typed<QueryUpdateMessage>();
    QCOMPARE(updates.size(), 1);
    QCOMPARE(updates.first()->change, QueryChange::Enter);
}

QTEST_GUILESS_MAIN(TestQueryRegistry)
#include "tst_queryregistry.moc"

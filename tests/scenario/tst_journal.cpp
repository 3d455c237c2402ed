// The event journal over real sockets (docs/protocol.md "Event journal"): what is journaled, READ,
// SUBSCRIBE and UNSUBSCRIBE, access, the option, restarts and retention.
#include "ClusterNodes.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"
#include "protocol/Messages.h"
#include "storage/StorageUrl.h"

#include <QCborArray>
#include <QCoreApplication>
#include <QDateTime>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 15000;
const QString kType = u"type"_s;

QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { kType, u"OP_BATCH"_s }, { u"payload"_s, QCborMap { { u"ops"_s, ops } } } };
}

QCborMap lwwOp(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis, std::optional<qint64> ttlMs = std::nullopt)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, u"client-a"_s }, ttlMs };
    return op.toCbor();
}

crdt::OrRecord orRecord(const QCborValue &value, qint64 millis)
{
    const crdt::Timestamp timestamp { millis, 0, u"client-a"_s };
    return crdt::OrRecord { value, timestamp, timestamp.toString(), std::nullopt };
}

QCborMap orAddOp(
    const QString &id, const QString &map, const QString &key, const crdt::OrRecord &record)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::OrAdd;
    op.orRecord = record;
    return op.toCbor();
}

QCborMap orRemoveOp(const QString &id, const QString &map, const QString &key, const QString &tag)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::OrRemove;
    op.orTag = tag;
    return op.toCbor();
}

QCborMap journalRead(const QString &requestId, const QCborValue &fromSequence,
    std::optional<qint64> limit = std::nullopt, const QString &mapName = {})
{
    QCborMap read { { kType, u"JOURNAL_READ"_s }, { u"requestId"_s, requestId },
        { u"fromSequence"_s, fromSequence } };
    if (limit)
        read.insert(u"limit"_s, *limit);
    if (!mapName.isEmpty())
        read.insert(u"mapName"_s, mapName);
    return read;
}

QCborMap journalSubscribe(const QString &requestId, const QString &fromSequence = {},
    const QString &mapName = {}, const QStringList &types = {})
{
    QCborMap subscribe { { kType, u"JOURNAL_SUBSCRIBE"_s }, { u"requestId"_s, requestId } };
    if (!fromSequence.isEmpty())
        subscribe.insert(u"fromSequence"_s, fromSequence);
    if (!mapName.isEmpty())
        subscribe.insert(u"mapName"_s, mapName);
    if (!types.isEmpty())
        subscribe.insert(u"types"_s, QCborArray::fromStringList(types));
    return subscribe;
}

QCborMap journalUnsubscribe(const QString &subscriptionId)
{
    return QCborMap { { kType, u"JOURNAL_UNSUBSCRIBE"_s },
        { u"subscriptionId"_s, subscriptionId } };
}

// Everything the server sent before this returns has arrived: PONG comes after it.
bool drain(RawClient &client)
{
    client.send(QCborMap { { kType, u"PING"_s } });
    return client.take(u"PONG"_s, kWaitMs).has_value();
}

// Sends ops as one OP_BATCH and waits until it is acknowledged; its OP_ACKs are taken.
bool write(RawClient &client, const QCborArray &ops)
{
    client.send(opBatch(ops));
    if (!client.take(u"OP_ACK"_s, kWaitMs) || !drain(client))
        return false;
    while (client.has(u"OP_ACK"_s))
        client.take(u"OP_ACK"_s, 0);
    return true;
}

QList<protocol::JournalEvent> eventsOf(const std::optional<QCborMap> &response)
{
    QList<protocol::JournalEvent> events;
    if (!response)
        return events;
    const auto decoded = protocol::JournalReadResponseMessage::fromCbor(*response);
    return decoded ? decoded->events : events;
}

// Takes every JOURNAL_EVENT received so far (call after drain()).
QList<protocol::JournalEvent> takeEvents(RawClient &client)
{
    QList<protocol::JournalEvent> events;
    while (client.has(u"JOURNAL_EVENT"_s)) {
        const auto message = client.take(u"JOURNAL_EVENT"_s, 0);
        const auto decoded = protocol::JournalEventMessage::fromCbor(*message);
        if (decoded)
            events.append(decoded->event);
    }
    return events;
}

QStringList describe(const QList<protocol::JournalEvent> &events)
{
    QStringList lines;
    for (const protocol::JournalEvent &event : events)
        lines.append(QStringLiteral("%1 %2 %3/%4")
                         .arg(event.sequence, event.type, event.mapName, event.key));
    return lines;
}

std::optional<QCborMap> errorPayload(RawClient &client)
{
    const auto error = client.take(u"ERROR"_s, kWaitMs);
    if (!error)
        return std::nullopt;
    return error->value(u"payload"_s).toMap();
}

} // namespace

class tst_Journal : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    std::vector<std::unique_ptr<RawClient>> m_clients;
    qint64 m_now = 1'700'000'000'000;

    ServerConfig config(const QString &storage = u"memory:"_s)
    {
        ServerConfig config = testConfig();
        config.storage = storage;
        config.eventJournalEnabled = true;
        config.clock = [this] { return m_now; };
        config.policy = auth::SecurityPolicy({
            { u"USER"_s, u"*"_s, auth::SecurityPolicy::kAllActions },
            { u"READER"_s, u"public.*"_s, auth::SecurityPolicy::Action::Read },
        });
        return config;
    }

    void start(const ServerConfig &config)
    {
        m_server = startServer(config, kWaitMs);
        QVERIFY(m_server);
    }

    void stop()
    {
        m_clients.clear();
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    RawClient *connect(const QString &user = u"user-1"_s, const QStringList &roles = { "USER" })
    {
        auto client = std::make_unique<RawClient>();
        if (!client->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret, user, roles), kWaitMs))
            return nullptr;
        m_clients.push_back(std::move(client));
        return m_clients.back().get();
    }

    QList<protocol::JournalEvent> readAll(RawClient &client, const QString &from = u"0"_s)
    {
        client.send(journalRead(u"all"_s, from, 1000));
        return eventsOf(client.take(u"JOURNAL_READ_RESPONSE"_s, kWaitMs));
    }

    // The same journal written on memory and SQLite storage; a restart keeps it on SQLite.
    void restartKeepsJournal(const QString &storage);

private Q_SLOTS:
    void cleanup() { stop(); }

    void lwwChangesArePutUpdateDelete();
    void orChangesArePutUpdateDelete();
    void losingOpIsNotJournaled();
    void ttlExpiryIsJournaled();
    void readFiltersByMapBeforeLimit();
    void readFromBeforeOldestStartsAtOldest();
    void subscribeReplaysThenSendsLive();
    void liveEventOncePerConnection();
    void unsubscribeStopsEvents();
    void subscriptionsEndWithTheConnection();
    void onlyReadableMapsAreJournaledToAPrincipal();
    void featureOffAnswers503();
    void restartKeepsEntriesAndNumberingSqlite();
    void restartKeepsEntriesAndNumberingPostgres();
    void capacityAndTtlRetention();
    void badInput_data();
    void badInput();
    void journalBeforeAuthCloses4001();
    void eachNodeJournalsWhatItApplies();
    void syncEngineJournal();
};

void tst_Journal::lwwChangesArePutUpdateDelete()
{
    start(config());
    RawClient *writer = connect();
    QVERIFY(writer);
    QVERIFY(write(*writer, { lwwOp(u"1"_s, u"todos"_s, u"k"_s, u"v1"_s, m_now - 30) }));
    QVERIFY(write(*writer, { lwwOp(u"2"_s, u"todos"_s, u"k"_s, u"v2"_s, m_now - 20) }));
    QVERIFY(write(*writer, { lwwOp(u"3"_s, u"todos"_s, u"k"_s, QCborValue(nullptr), m_now - 10) }));

    const QList<protocol::JournalEvent> events = readAll(*writer);
    QCOMPARE(describe(events),
        (QStringList { u"0 PUT todos/k"_s, u"1 UPDATE todos/k"_s, u"2 DELETE todos/k"_s }));
    QCOMPARE(events[0].value->toCbor(), QCborValue(u"v1"_s));
    QVERIFY(!events[0].previousValue);
    QCOMPARE(events[1].value->toCbor(), QCborValue(u"v2"_s));
    QCOMPARE(events[1].previousValue->toCbor(), QCborValue(u"v1"_s));
    QVERIFY(!events[2].value);
    QCOMPARE(events[2].previousValue->toCbor(), QCborValue(u"v2"_s));
    QCOMPARE(events[1].timestamp, (crdt::Timestamp { m_now - 20, 0, u"client-a"_s }));
    for (const protocol::JournalEvent &event : events)
        QCOMPARE(event.nodeId, m_server->nodeId());
}

void tst_Journal::orChangesArePutUpdateDelete()
{
    start(config());
    RawClient *writer = connect();
    QVERIFY(writer);
    const crdt::OrRecord red = orRecord(u"red"_s, m_now - 30);
    const crdt::OrRecord blue = orRecord(u"blue"_s, m_now - 20);
    QVERIFY(write(*writer, { orAddOp(u"1"_s, u"tags"_s, u"t"_s, red) }));
    QVERIFY(write(*writer, { orAddOp(u"2"_s, u"tags"_s, u"t"_s, blue) }));
    QVERIFY(write(*writer, { orRemoveOp(u"3"_s, u"tags"_s, u"t"_s, red.tag) }));
    // A tag tombstoned again changes nothing.
    QVERIFY(write(*writer, { orRemoveOp(u"4"_s, u"tags"_s, u"t"_s, red.tag) }));

    const QList<protocol::JournalEvent> events = readAll(*writer);
    QCOMPARE(describe(events),
        (QStringList { u"0 PUT tags/t"_s, u"1 UPDATE tags/t"_s, u"2 DELETE tags/t"_s }));
    QCOMPARE(events[0].value->toCbor(), QCborValue(u"red"_s));
    QCOMPARE(events[1].value->toCbor(), QCborValue(u"blue"_s));
    QCOMPARE(events[2].previousValue->toCbor(), QCborValue(u"red"_s));
    QCOMPARE(events[2].timestamp, red.timestamp);
}

void tst_Journal::losingOpIsNotJournaled()
{
    start(config());
    RawClient *writer = connect();
    QVERIFY(writer);
    QVERIFY(write(*writer, { lwwOp(u"1"_s, u"todos"_s, u"k"_s, u"new"_s, m_now - 10) }));
    QVERIFY(write(*writer, { lwwOp(u"2"_s, u"todos"_s, u"k"_s, u"stale"_s, m_now - 50) }));
    const QList<protocol::JournalEvent> events = readAll(*writer);
    QCOMPARE(describe(events), QStringList { u"0 PUT todos/k"_s });
}

void tst_Journal::ttlExpiryIsJournaled()
{
    start(config());
    RawClient *writer = connect();
    QVERIFY(writer);
    QVERIFY(write(*writer, { lwwOp(u"1"_s, u"todos"_s, u"k"_s, u"brief"_s, m_now - 10, 1000) }));
    m_now += 5000;
    QCOMPARE(m_server->performGarbageCollection(m_now - 100000).expired, 1);
    const QList<protocol::JournalEvent> events = readAll(*writer);
    QCOMPARE(describe(events), (QStringList { u"0 PUT todos/k"_s, u"1 DELETE todos/k"_s }));
    QCOMPARE(events[1].previousValue->toCbor(), QCborValue(u"brief"_s));
    QCOMPARE(events[1].timestamp.millis, m_now - 5000 - 10 + 1000);
}

void tst_Journal::readFiltersByMapBeforeLimit()
{
    start(config());
    RawClient *writer = connect();
    QVERIFY(writer);
    QCborArray ops;
    for (int i = 0; i < 6; ++i) {
        ops.append(lwwOp(QString::number(i + 1), i % 2 ? u"b"_s : u"a"_s, QString::number(i), i,
            m_now - 100 + i));
    }
    QVERIFY(write(*writer, ops));

    writer->send(journalRead(u"r1"_s, u"0"_s, 2, u"a"_s));
    auto response = writer->take(u"JOURNAL_READ_RESPONSE"_s, kWaitMs);
    QVERIFY(response);
    QCOMPARE(response->value(u"requestId"_s).toString(), u"r1"_s);
    QCOMPARE(response->value(u"hasMore"_s).toBool(), true);
    QList<protocol::JournalEvent> events = eventsOf(response);
    QCOMPARE(describe(events), (QStringList { u"0 PUT a/0"_s, u"2 PUT a/2"_s }));

    writer->send(journalRead(u"r2"_s, u"3"_s, 2, u"a"_s));
    response = writer->take(u"JOURNAL_READ_RESPONSE"_s, kWaitMs);
    QCOMPARE(describe(eventsOf(response)), QStringList { u"4 PUT a/4"_s });
    QCOMPARE(response->value(u"hasMore"_s).toBool(), false);

    // No limit: 100 by default; more than 1000 is 1000.
    writer->send(journalRead(u"r3"_s, u"0"_s));
    QCOMPARE(eventsOf(writer->take(u"JOURNAL_READ_RESPONSE"_s, kWaitMs)).size(), 6);
    writer->send(journalRead(u"r4"_s, u"0"_s, 5000));
    QCOMPARE(eventsOf(writer->take(u"JOURNAL_READ_RESPONSE"_s, kWaitMs)).size(), 6);
}

void tst_Journal::readFromBeforeOldestStartsAtOldest()
{
    ServerConfig small = config();
    small.eventJournalCapacity = 2;
    start(small);
    RawClient *writer = connect();
    QVERIFY(writer);
    for (int i = 0; i < 4; ++i)
        QVERIFY(
            write(*writer, { lwwOp(QString::number(i + 1), u"m"_s, u"k"_s, i, m_now - 9 + i) }));
    // The TopGun client's getLatestSequence(): readFrom(0, 1), the oldest kept.
    writer->send(journalRead(u"latest"_s, u"0"_s, 1));
    const auto response = writer->take(u"JOURNAL_READ_RESPONSE"_s, kWaitMs);
    QCOMPARE(describe(eventsOf(response)), QStringList { u"2 UPDATE m/k"_s });
    QCOMPARE(response->value(u"hasMore"_s).toBool(), true);
}

void tst_Journal::subscribeReplaysThenSendsLive()
{
    start(config());
    RawClient *writer = connect();
    RawClient *reader = connect(u"reader"_s);
    QVERIFY(writer && reader);
    QVERIFY(write(*writer,
        { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9), lwwOp(u"2"_s, u"b"_s, u"y"_s, 2, m_now - 8),
            lwwOp(u"3"_s, u"a"_s, u"z"_s, 3, m_now - 7) }));

    reader->send(journalSubscribe(u"sub-a"_s, u"1"_s, u"a"_s));
    QVERIFY(drain(*reader));
    QCOMPARE(describe(takeEvents(*reader)), QStringList { u"2 PUT a/z"_s });

    QVERIFY(write(*writer,
        { lwwOp(u"4"_s, u"b"_s, u"y"_s, 4, m_now - 6),
            lwwOp(u"5"_s, u"a"_s, u"x"_s, 5, m_now - 5) }));
    QTRY_VERIFY_WITH_TIMEOUT(reader->has(u"JOURNAL_EVENT"_s), kWaitMs);
    QVERIFY(drain(*reader));
    const QList<protocol::JournalEvent> live = takeEvents(*reader);
    QCOMPARE(describe(live), QStringList { u"4 UPDATE a/x"_s });
    QCOMPARE(live.first().value->toCbor(), QCborValue(5));

    // types filters too; without fromSequence nothing is replayed.
    reader->send(journalSubscribe(u"deletes"_s, {}, {}, { u"DELETE"_s }));
    QVERIFY(drain(*reader));
    QVERIFY(takeEvents(*reader).isEmpty());
    QVERIFY(write(*writer, { lwwOp(u"6"_s, u"b"_s, u"y"_s, QCborValue(nullptr), m_now - 4) }));
    QTRY_VERIFY_WITH_TIMEOUT(reader->has(u"JOURNAL_EVENT"_s), kWaitMs);
    QVERIFY(drain(*reader));
    QCOMPARE(describe(takeEvents(*reader)), QStringList { u"5 DELETE b/y"_s });
}

void tst_Journal::liveEventOncePerConnection()
{
    start(config());
    RawClient *writer = connect();
    RawClient *reader = connect(u"reader"_s);
    QVERIFY(writer && reader);
    reader->send(journalSubscribe(u"all"_s));
    reader->send(journalSubscribe(u"a-only"_s, {}, u"a"_s));
    reader->send(journalSubscribe(u"puts"_s, {}, {}, { u"PUT"_s }));
    QVERIFY(drain(*reader));
    QVERIFY(write(*writer, { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9) }));
    QTRY_VERIFY_WITH_TIMEOUT(reader->has(u"JOURNAL_EVENT"_s), kWaitMs);
    QVERIFY(drain(*reader));
    QCOMPARE(describe(takeEvents(*reader)), QStringList { u"0 PUT a/x"_s });
    // The writer subscribed to nothing and hears nothing.
    QVERIFY(drain(*writer));
    QVERIFY(takeEvents(*writer).isEmpty());
}

void tst_Journal::unsubscribeStopsEvents()
{
    start(config());
    RawClient *writer = connect();
    RawClient *reader = connect(u"reader"_s);
    QVERIFY(writer && reader);
    reader->send(journalSubscribe(u"s1"_s));
    reader->send(journalSubscribe(u"s2"_s, {}, u"b"_s));
    QVERIFY(drain(*reader));
    reader->send(journalUnsubscribe(u"s1"_s));
    QVERIFY(drain(*reader));
    QVERIFY(write(*writer,
        { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9),
            lwwOp(u"2"_s, u"b"_s, u"y"_s, 2, m_now - 8) }));
    QTRY_VERIFY_WITH_TIMEOUT(reader->has(u"JOURNAL_EVENT"_s), kWaitMs);
    QVERIFY(drain(*reader));
    QCOMPARE(describe(takeEvents(*reader)), QStringList { u"1 PUT b/y"_s });

    reader->send(journalUnsubscribe(u"s2"_s));
    reader->send(journalUnsubscribe(u"never-subscribed"_s));
    QVERIFY(drain(*reader));
    QVERIFY(write(*writer, { lwwOp(u"3"_s, u"b"_s, u"y"_s, 3, m_now - 7) }));
    QVERIFY(drain(*writer));
    QVERIFY(drain(*reader));
    QVERIFY(takeEvents(*reader).isEmpty());
    QVERIFY(!reader->receivedTypes().contains(u"ERROR"_s));
}

void tst_Journal::subscriptionsEndWithTheConnection()
{
    start(config());
    RawClient *writer = connect();
    RawClient *gone = connect(u"gone"_s);
    RawClient *stays = connect(u"stays"_s);
    QVERIFY(writer && gone && stays);
    gone->send(journalSubscribe(u"s"_s));
    stays->send(journalSubscribe(u"s"_s));
    QVERIFY(drain(*gone) && drain(*stays));
    gone->close();
    QVERIFY(gone->waitForDisconnected(kWaitMs));
    QTRY_COMPARE_WITH_TIMEOUT(m_server->connections().size(), 2, kWaitMs);
    // The node would send to a connection that is gone if the subscription outlived it.
    QVERIFY(write(*writer, { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9) }));
    QTRY_VERIFY_WITH_TIMEOUT(stays->has(u"JOURNAL_EVENT"_s), kWaitMs);
    QVERIFY(drain(*stays));
    QCOMPARE(describe(takeEvents(*stays)), QStringList { u"0 PUT a/x"_s });
}

void tst_Journal::onlyReadableMapsAreJournaledToAPrincipal()
{
    start(config());
    RawClient *writer = connect();
    RawClient *reader = connect(u"reader"_s, { "READER" });
    QVERIFY(writer && reader);
    QVERIFY(write(*writer,
        { lwwOp(u"1"_s, u"public.a"_s, u"x"_s, 1, m_now - 9),
            lwwOp(u"2"_s, u"secret"_s, u"y"_s, 2, m_now - 8) }));
    QCOMPARE(describe(readAll(*reader)), QStringList { u"0 PUT public.a/x"_s });
    QCOMPARE(describe(readAll(*writer)).size(), 2);

    reader->send(journalRead(u"r"_s, u"0"_s, 10, u"secret"_s));
    auto error = errorPayload(*reader);
    QVERIFY(error);
    QCOMPARE(error->value(u"code"_s).toInteger(), 403);
    reader->send(journalSubscribe(u"s-secret"_s, u"0"_s, u"secret"_s));
    error = errorPayload(*reader);
    QVERIFY(error);
    QCOMPARE(error->value(u"code"_s).toInteger(), 403);

    reader->send(journalSubscribe(u"s"_s, u"0"_s));
    QVERIFY(drain(*reader));
    QCOMPARE(describe(takeEvents(*reader)), QStringList { u"0 PUT public.a/x"_s });
    QVERIFY(write(*writer,
        { lwwOp(u"3"_s, u"secret"_s, u"y"_s, 3, m_now - 7),
            lwwOp(u"4"_s, u"public.a"_s, u"x"_s, 4, m_now - 6) }));
    QTRY_VERIFY_WITH_TIMEOUT(reader->has(u"JOURNAL_EVENT"_s), kWaitMs);
    QVERIFY(drain(*reader));
    QCOMPARE(describe(takeEvents(*reader)), QStringList { u"3 UPDATE public.a/x"_s });
}

void tst_Journal::featureOffAnswers503()
{
    ServerConfig off = config();
    off.eventJournalEnabled = false;
    start(off);
    RawClient *client = connect();
    QVERIFY(client);
    QVERIFY(write(*client, { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9) }));
    for (const QCborMap &request : { journalRead(u"r"_s, u"0"_s), journalSubscribe(u"s"_s) }) {
        client->send(request);
        const auto error = errorPayload(*client);
        QVERIFY(error);
        QCOMPARE(error->value(u"code"_s).toInteger(), 503);
        QCOMPARE(error->value(u"message"_s).toString(), u"Event journal not enabled"_s);
    }
    QVERIFY(!client->has(u"JOURNAL_READ_RESPONSE"_s));
    QVERIFY(client->isConnected());
}

void tst_Journal::restartKeepsJournal(const QString &storage)
{
    start(config(storage));
    RawClient *writer = connect();
    QVERIFY(writer);
    QVERIFY(write(*writer, { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9) }));
    QVERIFY(write(*writer,
        { lwwOp(u"2"_s, u"a"_s, u"x"_s, QCborMap { { u"deep"_s, 2.5 } }, m_now - 8),
            orAddOp(u"3"_s, u"tags"_s, u"t"_s, orRecord(u"red"_s, m_now - 7)) }));
    const QList<protocol::JournalEvent> before = readAll(*writer);
    QCOMPARE(before.size(), 3);
    stop();

    start(config(storage));
    writer = connect();
    QVERIFY(writer);
    QCOMPARE(readAll(*writer), before);
    QVERIFY(write(*writer, { lwwOp(u"4"_s, u"a"_s, u"x"_s, QCborValue(nullptr), m_now - 6) }));
    const QList<protocol::JournalEvent> after = readAll(*writer, u"3"_s);
    QCOMPARE(describe(after), QStringList { u"3 DELETE a/x"_s });
    QCOMPARE(after.first().previousValue->toCbor(), QCborValue(QCborMap { { u"deep"_s, 2.5 } }));
}

void tst_Journal::restartKeepsEntriesAndNumberingSqlite()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    restartKeepsJournal(u"sqlite:"_s + dir.filePath(u"journal.db"_s));
}

void tst_Journal::restartKeepsEntriesAndNumberingPostgres()
{
    const QString url = qEnvironmentVariable("WINGMAN_TEST_POSTGRES_URL");
    if (url.isEmpty())
        QSKIP("WINGMAN_TEST_POSTGRES_URL is not set; run the tests through "
              "scripts/with-postgres.sh");
    const auto server = storage::StorageUrl::parse(url);
    QVERIFY(server);
    const QString database
        = QStringLiteral("wingman_journal_%1").arg(QCoreApplication::applicationPid());
    const auto admin = [&](const QString &statement) {
        const QString name = u"tst_journal.admin"_s;
        bool ok = false;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QPSQL"_s, name);
            db.setHostName(server->host);
            db.setPort(server->port);
            db.setUserName(server->user);
            db.setPassword(server->password);
            db.setDatabaseName(server->database);
            ok = db.open() && QSqlQuery(db).exec(statement);
            if (!ok)
                qWarning("%s: %s", qPrintable(statement), qPrintable(db.lastError().text()));
        }
        QSqlDatabase::removeDatabase(name);
        return ok;
    };
    QVERIFY(admin(u"DROP DATABASE IF EXISTS %1 WITH (FORCE)"_s.arg(database)));
    QVERIFY(admin(u"CREATE DATABASE %1"_s.arg(database)));
    restartKeepsJournal(QStringLiteral("postgres://%1:%2@%3:%4/%5")
                            .arg(server->user, server->password, server->host)
                            .arg(server->port)
                            .arg(database));
    stop();
    QVERIFY(admin(u"DROP DATABASE IF EXISTS %1 WITH (FORCE)"_s.arg(database)));
}

void tst_Journal::capacityAndTtlRetention()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    ServerConfig retained = config(u"sqlite:"_s + dir.filePath(u"retention.db"_s));
    retained.eventJournalCapacity = 3;
    retained.eventJournalTtlMs = 60000;
    start(retained);
    RawClient *writer = connect();
    QVERIFY(writer);
    for (int i = 0; i < 5; ++i)
        QVERIFY(
            write(*writer, { lwwOp(QString::number(i + 1), u"m"_s, u"k"_s, i, m_now - 9 + i) }));
    QCOMPARE(describe(readAll(*writer)),
        (QStringList { u"2 UPDATE m/k"_s, u"3 UPDATE m/k"_s, u"4 UPDATE m/k"_s }));

    m_now += 120000;
    QVERIFY(readAll(*writer).isEmpty());
    stop();

    // After a restart the aged-out events stay gone and the numbering goes on.
    start(retained);
    writer = connect();
    QVERIFY(writer);
    QVERIFY(readAll(*writer).isEmpty());
    QVERIFY(write(*writer, { lwwOp(u"9"_s, u"m"_s, u"k"_s, 9, m_now - 1) }));
    QCOMPARE(describe(readAll(*writer)), QStringList { u"5 UPDATE m/k"_s });
}

void tst_Journal::badInput_data()
{
    QTest::addColumn<QCborMap>("request");
    QTest::addColumn<QString>("message"); // a part of the ERROR message
    QTest::newRow("read: fromSequence not decimal")
        << journalRead(u"r"_s, u"abc"_s) << u"Invalid fromSequence 'abc'"_s;
    QTest::newRow("read: negative fromSequence")
        << journalRead(u"r"_s, u"-1"_s) << u"Invalid fromSequence '-1'"_s;
    QTest::newRow("read: fromSequence a number")
        << journalRead(u"r"_s, 5) << u"Invalid message format"_s;
    QTest::newRow("read: no fromSequence") << QCborMap { { kType, u"JOURNAL_READ"_s },
        { u"requestId"_s, u"r"_s } } << u"Invalid message format"_s;
    QTest::newRow("read: limit a string") << QCborMap { { kType, u"JOURNAL_READ"_s },
        { u"requestId"_s, u"r"_s }, { u"fromSequence"_s, u"0"_s }, { u"limit"_s, u"ten"_s } }
                                          << u"Invalid message format"_s;
    QTest::newRow("subscribe: fromSequence not decimal")
        << journalSubscribe(u"s"_s, u"1e3"_s) << u"Invalid fromSequence '1e3'"_s;
    QTest::newRow("subscribe: unknown type") << journalSubscribe(u"s"_s, {}, {},
        { u"PUT"_s, u"OR_ADD"_s }) << u"Invalid journal event type 'OR_ADD'"_s;
    QTest::newRow("subscribe: no requestId")
        << QCborMap { { kType, u"JOURNAL_SUBSCRIBE"_s } } << u"Invalid message format"_s;
    QTest::newRow("unsubscribe: no subscriptionId")
        << QCborMap { { kType, u"JOURNAL_UNSUBSCRIBE"_s } } << u"Invalid message format"_s;
}

void tst_Journal::badInput()
{
    QFETCH(QCborMap, request);
    QFETCH(QString, message);
    start(config());
    RawClient *client = connect();
    QVERIFY(client);
    QVERIFY(write(*client, { lwwOp(u"1"_s, u"a"_s, u"x"_s, 1, m_now - 9) }));
    client->send(request);
    const auto error = errorPayload(*client);
    QVERIFY(error);
    QCOMPARE(error->value(u"code"_s).toInteger(), 400);
    QVERIFY2(error->value(u"message"_s).toString().contains(message),
        qPrintable(error->value(u"message"_s).toString()));
    // Nothing was subscribed: a new write reaches no one.
    QVERIFY(write(*client, { lwwOp(u"2"_s, u"a"_s, u"x"_s, 2, m_now - 8) }));
    QVERIFY(drain(*client));
    QVERIFY(takeEvents(*client).isEmpty());
    QVERIFY(client->isConnected());
}

void tst_Journal::journalBeforeAuthCloses4001()
{
    start(config());
    RawClient client;
    QVERIFY(client.connectTo(m_server->port(), kWaitMs));
    QVERIFY(client.take(u"AUTH_REQUIRED"_s, kWaitMs));
    client.send(journalSubscribe(u"s"_s));
    QVERIFY(client.waitForDisconnected(kWaitMs));
    QCOMPARE(client.closeCode(), 4001);
}

void tst_Journal::eachNodeJournalsWhatItApplies()
{
    ClusterNodes nodes;
    const auto journaled = [](ServerConfig &config) { config.eventJournalEnabled = true; };
    ServerCoordinator *a = nodes.start(u"node-a"_s, journaled);
    QVERIFY(a);
    ServerCoordinator *b = nodes.start(u"node-b"_s, journaled);
    QVERIFY(b);
    QTRY_VERIFY_WITH_TIMEOUT(ClusterNodes::meshed({ a, b }), kWaitMs);
    const QByteArray token = TestTokens::userToken(kTestSecret, u"user-1"_s);
    RawClient writer;
    RawClient reader;
    QVERIFY(writer.connectAndAuthenticate(a->port(), token, kWaitMs));
    QVERIFY(reader.connectAndAuthenticate(b->port(), token, kWaitMs));
    reader.send(journalSubscribe(u"s"_s));
    QVERIFY(drain(reader));

    writer.send(lwwPutBatch(u"m"_s, 1, 3, QDateTime::currentMSecsSinceEpoch(), u"w"_s));
    QVERIFY(writer.take(u"OP_ACK"_s, kWaitMs));
    // node-b journals the replicated changes in its own sequence, under its own id.
    const auto journalEvents = [&reader] {
        return std::count_if(reader.inbox().cbegin(), reader.inbox().cend(),
            [](const QCborMap &message) { return message.value(kType) == u"JOURNAL_EVENT"_s; });
    };
    QTRY_COMPARE_WITH_TIMEOUT(journalEvents(), 3, kWaitMs);
    QVERIFY(drain(reader));
    const QList<protocol::JournalEvent> onB = takeEvents(reader);
    QCOMPARE(describe(onB),
        (QStringList { u"0 PUT m/key-1"_s, u"1 PUT m/key-2"_s, u"2 PUT m/key-3"_s }));
    for (const protocol::JournalEvent &event : onB)
        QCOMPARE(event.nodeId, u"node-b"_s);
    const QList<protocol::JournalEvent> onA = readAll(writer);
    QCOMPARE(describe(onA), describe(onB));
    QCOMPARE(onA.first().nodeId, u"node-a"_s);
}

void tst_Journal::syncEngineJournal()
{
    start(config());
    client::SyncEngineConfig engineConfig;
    engineConfig.url = QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(m_server->port()));
    engineConfig.nodeId = u"engine"_s;
    engineConfig.clock = [this] { return m_now; };
    client::SyncEngine engine(engineConfig);
    engine.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, u"engine"_s)));
    engine.registerLwwMap(u"notes"_s);
    engine.registerLwwMap(u"other"_s);
    engine.start();
    QTRY_COMPARE_WITH_TIMEOUT(engine.state(), client::SyncEngine::State::Connected, kWaitMs);

    client::JournalClient &journal = engine.journal();
    QSignalSpy received(&journal, &client::JournalClient::eventReceived);
    QSignalSpy perSubscription(&journal, &client::JournalClient::subscriptionEvent);
    const QString notes = journal.subscribe(std::nullopt, u"notes"_s);
    const QString everything = journal.subscribe();
    engine.put(u"notes"_s, u"n1"_s, u"first"_s);
    engine.put(u"other"_s, u"o1"_s, 1);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), 2, kWaitMs);
    // The notes event went to both subscriptions, the other one to one.
    QTRY_COMPARE_WITH_TIMEOUT(perSubscription.size(), 3, kWaitMs);

    QSignalSpy read(&journal, &client::JournalClient::readFinished);
    const QString requestId = journal.read(0, 10, u"notes"_s);
    QVERIFY(read.wait(kWaitMs));
    QCOMPARE(read.first().at(0).toString(), requestId);
    const auto events = read.first().at(1).value<QList<protocol::JournalEvent>>();
    QCOMPARE(describe(events), QStringList { u"0 PUT notes/n1"_s });
    QCOMPARE(events.first().value->toCbor(), QCborValue(u"first"_s));
    QCOMPARE(read.first().at(2).toBool(), false);

    journal.unsubscribe(notes);
    journal.unsubscribe(everything);
    engine.put(u"notes"_s, u"n2"_s, u"second"_s);
    QTRY_COMPARE_WITH_TIMEOUT(engine.pendingOpCount(), 0, kWaitMs);
    const QString after = journal.read(0, 10);
    QTRY_COMPARE_WITH_TIMEOUT(read.size(), 2, kWaitMs);
    QCOMPARE(read.last().at(0).toString(), after);
    QCOMPARE(read.last().at(1).value<QList<protocol::JournalEvent>>().size(), 3);
    QCOMPARE(received.size(), 2);
    engine.close();
}

QTEST_GUILESS_MAIN(tst_Journal)
#include "tst_journal.moc"

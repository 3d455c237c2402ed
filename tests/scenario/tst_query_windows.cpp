#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "live/QueryHandler.h"
#include "protocol/Messages.h"
#include "query/Query.h"
#include "query/QueryCursor.h"

#include <QCborArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <map>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

const QString kType = u"type"_s;
const QString kPayload = u"payload"_s;
const QString kMap = u"items"_s;

QCborMap payloadOf(const std::optional<QCborMap> &message)
{
    return message ? message->value(kPayload).toMap() : QCborMap();
}

QCborMap json(const char *text)
{
    return QCborMap::fromJsonObject(QJsonDocument::fromJson(text).object());
}

QCborMap lwwOp(const QString &id, const QString &key, const QCborValue &value, qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = kMap;
    op.key = key;
    op.opType = value.isNull() ? protocol::OpType::Remove : protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, u"writer"_s }, std::nullopt };
    return op.toCbor();
}

QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { kType, u"OP_BATCH"_s }, { kPayload, QCborMap { { u"ops"_s, ops } } } };
}

QCborMap querySub(const QString &queryId, const QCborMap &query)
{
    return QCborMap { { kType, u"QUERY_SUB"_s },
        { kPayload,
            QCborMap {
                { u"queryId"_s, queryId }, { u"mapName"_s, kMap }, { u"query"_s, query } } } };
}

QStringList keysOf(const QCborMap &response)
{
    QStringList keys;
    for (const QCborValue &result : response.value(u"results"_s).toArray())
        keys.append(result.toMap().value(u"key"_s).toString());
    return keys;
}

QCborMap withCursor(QCborMap query, const QString &cursor)
{
    query.insert(u"cursor"_s, cursor);
    return query;
}

// The TopGun 0.11 client's handling of OP_ACK and of backpressure, step by step as
// docs/protocol.md "Writes" states it: (1) each results entry marks its op synced and resolves
// its promise; (2) every op whose id <= lastId as strings is marked synced; (3) only if step 2
// marked an op not synced before, the low-water check runs, the only thing that resumes writes
// paused at the high-water mark.
class TopGunWriterModel
{
public:
    static constexpr int kHighWater = 1000;
    static constexpr int kLowWater = 500;

    // Logs the next op; false when writes are paused.
    bool write()
    {
        if (m_paused)
            return false;
        const QString id = QString::number(++m_lastId);
        m_log.insert({ m_lastId, Op { id, false } });
        m_unsent.append(id);
        if (pendingCount() >= kHighWater)
            m_paused = true;
        return true;
    }
    QStringList takeUnsent() { return std::exchange(m_unsent, {}); }

    void onAck(const QCborMap &payload)
    {
        for (const QCborValue &result : payload.value(u"results"_s).toArray()) {
            const QString opId = result.toMap().value(u"opId"_s).toString();
            m_resolved.insert(opId);
            if (Op *op = find(opId))
                op->synced = true;
        }
        const QString lastId = payload.value(u"lastId"_s).toString();
        bool markedNew = false;
        for (auto &[sequence, op] : m_log) {
            if (op.id <= lastId && !op.synced) {
                op.synced = true;
                markedNew = true;
            }
        }
        if (markedNew && m_paused && pendingCount() <= kLowWater) {
            m_paused = false;
            ++m_resumes;
        }
    }

    int pendingCount() const
    {
        return int(std::count_if(
            m_log.cbegin(), m_log.cend(), [](const auto &entry) { return !entry.second.synced; }));
    }
    bool paused() const { return m_paused; }
    int resumes() const { return m_resumes; }
    int written() const { return m_lastId; }
    bool resolvedEvery() const { return m_resolved.size() == qsizetype(m_log.size()); }

private:
    struct Op {
        QString id;
        bool synced = false;
    };
    Op *find(const QString &id)
    {
        const auto it = m_log.find(id.toLongLong());
        return it == m_log.end() ? nullptr : &it->second;
    }

    std::map<qint64, Op> m_log;
    QStringList m_unsent;
    QSet<QString> m_resolved;
    int m_lastId = 0;
    bool m_paused = false;
    int m_resumes = 0;
};

} // namespace

class tst_QueryWindows : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;
    std::unique_ptr<RawClient> m_writer;
    qint64 m_now = 0;
    int m_nextOpId = 0;

    std::unique_ptr<RawClient> client(const QString &user = u"user-1"_s)
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(m_server->port(), TestTokens::userToken(kTestSecret, user)))
            return nullptr;
        return c;
    }

    // Writes {n: value} (a remove for null) under each key and waits for the acks.
    bool write(const QList<std::pair<QString, QCborValue>> &records)
    {
        QCborArray ops;
        for (const auto &[key, n] : records) {
            const int id = ++m_nextOpId;
            ops.append(lwwOp(QString::number(id), key,
                n.isNull() ? n : QCborValue(QCborMap { { u"n"_s, n } }), m_now + id));
        }
        m_writer->send(opBatch(ops));
        return m_writer->takeAck(10000).has_value();
    }

    // The QUERY_UPDATEs of queryId that arrive until the last one expected, as "-key", "+key"
    // and "~key" for REMOVE, ENTER and UPDATE.
    static QStringList updates(RawClient &subscriber, const QString &queryId, int count)
    {
        QStringList said;
        for (int i = 0; i < count; ++i) {
            const QCborMap update = payloadOf(subscriber.take(u"QUERY_UPDATE"_s, 10000));
            if (update.isEmpty())
                break;
            if (update.value(u"queryId"_s).toString() != queryId) {
                --i;
                continue;
            }
            const QString type = update.value(u"type"_s).toString();
            const QString key = update.value(u"key"_s).toString();
            if (type == u"REMOVE") {
                said.append(u'-' + key);
                if (!update.value(u"value"_s).isNull())
                    said.append(u"<REMOVE with a value>"_s);
            } else {
                said.append((type == u"ENTER" ? u'+' : u'~') + key);
            }
        }
        return said;
    }

private Q_SLOTS:
    void init()
    {
        m_now = QDateTime::currentMSecsSinceEpoch();
        m_nextOpId = 0;
        m_server = startServer(testConfig());
        QVERIFY(m_server);
        m_writer = client(u"writer"_s);
        QVERIFY(m_writer);
    }

    void cleanup()
    {
        m_writer.reset();
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void windowFollowsEnterPushOutLeaveAndRefill()
    {
        QVERIFY(write({ { u"a"_s, 10 }, { u"b"_s, 20 }, { u"c"_s, 30 }, { u"d"_s, 40 } }));
        auto subscriber = client();
        QVERIFY(subscriber);
        subscriber->send(querySub(u"top"_s, json(R"({"sort":{"n":"asc"},"limit":2})")));
        const QCborMap response = payloadOf(subscriber->take(u"QUERY_RESP"_s));
        QCOMPARE(keysOf(response), (QStringList { u"a"_s, u"b"_s }));
        QCOMPARE(response.value(u"hasMore"_s).toBool(), true);
        QVERIFY(response.value(u"nextCursor"_s).isString());
        QCOMPARE(response.value(u"cursorStatus"_s).toString(), u"none"_s);

        // A record entering a full window pushes its last member out first.
        QVERIFY(write({ { u"x"_s, 5 } }));
        QCOMPARE(updates(*subscriber, u"top"_s, 2), (QStringList { u"-b"_s, u"+x"_s }));
        // A member deleted while more matches exist: REMOVE, then ENTER of the next.
        QVERIFY(write({ { u"x"_s, QCborValue(QCborValue::Null) } }));
        QCOMPARE(updates(*subscriber, u"top"_s, 2), (QStringList { u"-x"_s, u"+b"_s }));
        // A member changing in place, and one moving out.
        QVERIFY(write({ { u"a"_s, 1 } }));
        QCOMPARE(updates(*subscriber, u"top"_s, 1), QStringList { u"~a"_s });
        QVERIFY(write({ { u"a"_s, 35 } }));
        QCOMPARE(updates(*subscriber, u"top"_s, 2), (QStringList { u"-a"_s, u"+c"_s }));
        // Outside the window: nothing.
        QVERIFY(write({ { u"z"_s, 99 } }));
        QVERIFY(!subscriber->take(u"QUERY_UPDATE"_s, 500));
    }

    void noSortOrdersByKeyAndLimitsTheWindow()
    {
        QVERIFY(write({ { u"k2"_s, 1 }, { u"k10"_s, 1 }, { u"k1"_s, 1 } }));
        auto subscriber = client();
        QVERIFY(subscriber);
        subscriber->send(querySub(u"q"_s, json(R"({"limit":2})")));
        const QCborMap response = payloadOf(subscriber->take(u"QUERY_RESP"_s));
        QCOMPARE(keysOf(response), (QStringList { u"k1"_s, u"k10"_s }));
        QVERIFY(response.value(u"hasMore"_s).toBool());
        // No sort, no limit: every match, and no cursor.
        subscriber->send(querySub(u"all"_s, QCborMap()));
        const QCborMap all = payloadOf(subscriber->take(u"QUERY_RESP"_s));
        QCOMPARE(keysOf(all), (QStringList { u"k1"_s, u"k10"_s, u"k2"_s }));
        QCOMPARE(all.value(u"hasMore"_s).toBool(), false);
        QVERIFY(!all.contains(u"nextCursor"_s));
    }

    void pagesAreStableUnderConcurrentWrites()
    {
        QList<std::pair<QString, QCborValue>> records;
        for (int i = 0; i < 25; ++i)
            records.append({ u"r%1"_s.arg(i, 2, 10, QLatin1Char('0')), i });
        QVERIFY(write(records));
        const QCborMap query = json(R"({"sort":{"n":"asc"},"limit":10})");

        auto reader = client();
        QVERIFY(reader);
        reader->send(querySub(u"p1"_s, query));
        const QCborMap page1 = payloadOf(reader->take(u"QUERY_RESP"_s));
        QCOMPARE(keysOf(page1).first(), u"r00"_s);
        QCOMPARE(keysOf(page1).last(), u"r09"_s);
        const QString cursor1 = page1.value(u"nextCursor"_s).toString();
        QVERIFY(!cursor1.isEmpty());

        // Writes before the cursor's position while the reader turns the page: page 1 follows
        // them, page 2 starts after page 1's last record all the same.
        QVERIFY(write({ { u"early"_s, -1 }, { u"r03"_s, QCborValue(QCborValue::Null) } }));
        QCOMPARE(updates(*reader, u"p1"_s, 4),
            (QStringList { u"-r09"_s, u"+early"_s, u"-r03"_s, u"+r09"_s }));
        reader->send(querySub(u"p2"_s, withCursor(query, cursor1)));
        const QCborMap page2 = payloadOf(reader->take(u"QUERY_RESP"_s));
        QCOMPARE(page2.value(u"cursorStatus"_s).toString(), u"valid"_s);
        QStringList expected;
        for (int i = 10; i < 20; ++i)
            expected.append(u"r%1"_s.arg(i));
        QCOMPARE(keysOf(page2), expected);
        QVERIFY(page2.value(u"hasMore"_s).toBool());

        // Page 2 keeps its start: a record before it changes nothing there, one inside pushes
        // page 2's last member out.
        QVERIFY(write({ { u"early2"_s, -5 } }));
        QCOMPARE(updates(*reader, u"p1"_s, 2), (QStringList { u"-r09"_s, u"+early2"_s }));
        QVERIFY(write({ { u"mid"_s, 15.5 } }));
        QCOMPARE(updates(*reader, u"p2"_s, 2), (QStringList { u"-r19"_s, u"+mid"_s }));

        const QString cursor2 = page2.value(u"nextCursor"_s).toString();
        reader->send(querySub(u"p3"_s, withCursor(query, cursor2)));
        const QCborMap page3 = payloadOf(reader->take(u"QUERY_RESP"_s));
        QCOMPARE(keysOf(page3), (QStringList { u"r20"_s, u"r21"_s, u"r22"_s, u"r23"_s, u"r24"_s }));
        QCOMPARE(page3.value(u"hasMore"_s).toBool(), false);
        QVERIFY(!page3.contains(u"nextCursor"_s));
    }

    void expiredAndInvalidCursorsStartAtTheBeginning_data()
    {
        QTest::addColumn<QString>("cursor");
        QTest::addColumn<QString>("status");

        const QCborMap query = json(R"({"sort":{"n":"desc"},"limit":2})");
        QString error;
        const auto parsed = query::Query::fromCbor(query, &error);
        query::QueryCursor cursor;
        cursor.sortValues = { 3 };
        cursor.key = u"c"_s;
        cursor.queryHash = query::QueryCursor::hashOf(*parsed);
        cursor.createdMs = QDateTime::currentMSecsSinceEpoch() - 11 * 60 * 1000;
        QTest::newRow("older than 10 minutes") << cursor.encode() << u"expired"_s;
        cursor.createdMs = QDateTime::currentMSecsSinceEpoch();
        QTest::newRow("fresh") << cursor.encode() << u"valid"_s;
        QTest::newRow("undecodable") << u"%%%"_s << u"invalid"_s;
        QTest::newRow("not a cursor") << QString::fromLatin1(
            QByteArray(R"({"k":1})")
                .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals))
                                      << u"invalid"_s;
        cursor.queryHash = query::QueryCursor::hashOf(
            *query::Query::fromCbor(json(R"({"sort":{"n":"asc"}})"), &error));
        QTest::newRow("another sort") << cursor.encode() << u"invalid"_s;
    }

    void expiredAndInvalidCursorsStartAtTheBeginning()
    {
        QFETCH(QString, cursor);
        QFETCH(QString, status);
        QVERIFY(write({ { u"a"_s, 1 }, { u"b"_s, 2 }, { u"c"_s, 3 }, { u"d"_s, 4 } }));
        auto subscriber = client();
        QVERIFY(subscriber);
        subscriber->send(
            querySub(u"q"_s, withCursor(json(R"({"sort":{"n":"desc"},"limit":2})"), cursor)));
        const QCborMap response = payloadOf(subscriber->take(u"QUERY_RESP"_s));
        QCOMPARE(response.value(u"cursorStatus"_s).toString(), status);
        QCOMPARE(keysOf(response),
            status == u"valid" ? (QStringList { u"b"_s, u"a"_s })
                               : (QStringList { u"d"_s, u"c"_s }));
    }

    void badQueriesGetError400_data()
    {
        QTest::addColumn<QByteArray>("query");
        QTest::addColumn<QString>("message");
        QTest::newRow("cursor not a string") << QByteArray(R"({"sort":{"n":"asc"},"cursor":5})")
                                             << u"Invalid query: cursor: expected a string"_s;
        QTest::newRow("bad sort direction") << QByteArray(R"({"sort":{"n":"up"}})")
                                            << u"Invalid query: sort.n: expected 'asc' or 'desc'"_s;
        QTest::newRow("sort not a map")
            << QByteArray(R"({"sort":["n"]})") << u"Invalid query: sort: expected a map"_s;
        QTest::newRow("negative limit")
            << QByteArray(R"({"limit":-1})") << u"Invalid query: limit: must not be negative"_s;
    }

    void badQueriesGetError400()
    {
        QFETCH(QByteArray, query);
        QFETCH(QString, message);
        auto subscriber = client();
        QVERIFY(subscriber);
        subscriber->send(querySub(u"bad"_s, json(query.constData())));
        const QCborMap error = payloadOf(subscriber->take(u"ERROR"_s));
        QCOMPARE(error.value(u"code"_s).toInteger(), 400);
        QCOMPARE(error.value(u"message"_s).toString(), message);
        QVERIFY(!subscriber->has(u"QUERY_RESP"_s));
        // Nothing was registered: a later write says nothing to it.
        QVERIFY(write({ { u"a"_s, 1 } }));
        QVERIFY(!subscriber->take(u"QUERY_UPDATE"_s, 300));
    }

    void firstEvaluationInTurnsStaysInStepWithWrites()
    {
        // Several turns' worth of keys, seeded straight into the map.
        QVERIFY(write({ { u"seed"_s, -100 } }));
        crdt::LwwMap *map = m_server->getMap(kMap);
        QVERIFY(map);
        const int count = int(3 * live::QueryHandler::kKeysPerTurn + 100);
        for (int i = 0; i < count; ++i) {
            map->merge(u"r%1"_s.arg(i, 5, 10, QLatin1Char('0')),
                { QCborMap { { u"n"_s, i } }, { m_now, 0, u"seeder"_s }, std::nullopt });
        }

        auto subscriber = client();
        QVERIFY(subscriber);
        subscriber->send(querySub(u"top"_s, json(R"({"sort":{"n":"asc"},"limit":4})")));
        subscriber->send(querySub(u"all"_s, QCborMap()));
        // Writes that may land before, during or after the evaluation.
        QVERIFY(write({ { u"seed"_s, QCborValue(QCborValue::Null) }, { u"r00000"_s, -1 },
            { u"r00001"_s, QCborValue(QCborValue::Null) }, { u"new"_s, -2 },
            { u"r%1"_s.arg(count - 1), QCborValue(QCborValue::Null) } }));

        // The client's view: each QUERY_RESP replaces the set, REMOVE drops a key, ENTER and
        // UPDATE add or replace one.
        QHash<QString, QSet<QString>> view;
        const auto fold = [&](const QCborMap &message) {
            const QCborMap payload = message.value(kPayload).toMap();
            const QString queryId = payload.value(u"queryId"_s).toString();
            if (message.value(kType).toString() == u"QUERY_RESP") {
                const QStringList keys = keysOf(payload);
                view[queryId] = QSet<QString>(keys.cbegin(), keys.cend());
            } else if (message.value(kType).toString() == u"QUERY_UPDATE") {
                const QString key = payload.value(u"key"_s).toString();
                if (payload.value(u"type"_s).toString() == u"REMOVE")
                    view[queryId].remove(key);
                else
                    view[queryId].insert(key);
            }
        };
        for (const QCborMap &message : subscriber->inbox())
            fold(message);
        connect(subscriber.get(), &RawClient::messageReceived, this, fold);
        const QSet<QString> top { u"new"_s, u"r00000"_s, u"r00002"_s, u"r00003"_s };
        QTRY_COMPARE_WITH_TIMEOUT(view.value(u"top"_s), top, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(view.value(u"all"_s).size(), count - 1, 20000);
        QVERIFY(view.value(u"all"_s).contains(u"new"_s));
        QVERIFY(!view.value(u"all"_s).contains(u"r00001"_s));
        QVERIFY(!view.value(u"all"_s).contains(u"seed"_s));
    }

    void opAckPairShape()
    {
        // One op: results [] first, then A's.
        m_writer->send(opBatch({ lwwOp(u"1"_s, u"one"_s, QCborMap { { u"n"_s, 1 } }, m_now) }));
        const QCborMap first = payloadOf(m_writer->take(u"OP_ACK"_s));
        const QCborMap second = payloadOf(m_writer->take(u"OP_ACK"_s));
        QCOMPARE(first.value(u"lastId"_s).toString(), u"1"_s);
        QCOMPARE(first.value(u"results"_s).toArray().size(), 0);
        QCOMPARE(second.value(u"lastId"_s).toString(), u"1"_s);
        QCOMPARE(second.value(u"results"_s).toArray().size(), 1);

        // Ids across a digit boundary, one refused in the middle.
        m_writer->send(opBatch({ lwwOp(u"9"_s, u"nine"_s, 9, m_now),
            QCborMap { { u"id"_s, u"10"_s }, { u"mapName"_s, kMap } },
            lwwOp(u"11"_s, u"eleven"_s, 11, m_now) }));
        const QCborMap ack = payloadOf(m_writer->takeAck());
        QCOMPARE(ack.value(u"lastId"_s).toString(), u"11"_s);
        QStringList ids;
        for (const QCborValue &result : ack.value(u"results"_s).toArray()) {
            const QCborMap entry = result.toMap();
            ids.append(entry.value(u"opId"_s).toString());
            QCOMPARE(entry.value(u"success"_s).toBool(), ids.last() != u"10");
            if (ids.last() == u"10")
                QVERIFY(!entry.value(u"error"_s).toString().isEmpty());
        }
        QCOMPARE(ids, (QStringList { u"9"_s, u"10"_s, u"11"_s }));

        // An empty batch gets no OP_ACK.
        m_writer->send(opBatch({}));
        QVERIFY(!m_writer->take(u"OP_ACK"_s, 500));
    }

    void modelOfTheTopGunClientStaysPausedOnOneAckPerBatch()
    {
        // Without the pair (results for every op and lastId in one OP_ACK) step 3 never runs.
        TopGunWriterModel model;
        while (model.write()) { }
        QVERIFY(model.paused());
        QCborArray results;
        for (const QString &id : model.takeUnsent())
            results.append(QCborMap { { u"opId"_s, id }, { u"success"_s, true } });
        model.onAck(QCborMap { { u"lastId"_s, u"1000"_s }, { u"results"_s, results } });
        QCOMPARE(model.pendingCount(), 0);
        QVERIFY(model.paused());
    }

    void backpressuredTopGunClientResumes()
    {
        TopGunWriterModel model;
        constexpr int kWanted = 2600;
        constexpr int kBatch = 100;
        int acks = 0;
        int batches = 0;
        connect(m_writer.get(), &RawClient::messageReceived, this, [&](const QCborMap &message) {
            if (message.value(kType).toString() == u"OP_ACK") {
                ++acks;
                model.onAck(message.value(kPayload).toMap());
            }
        });
        const auto pump = [&] {
            while (model.written() < kWanted && model.write()) { }
            QStringList unsent = model.takeUnsent();
            while (!unsent.isEmpty()) {
                QCborArray ops;
                for (const QString &id : unsent.mid(0, kBatch))
                    ops.append(lwwOp(id, u"bp-"_s + id, id.toInt(), m_now));
                unsent = unsent.mid(kBatch);
                m_writer->send(opBatch(ops));
                ++batches;
            }
        };
        pump();
        QVERIFY(model.paused());
        QCOMPARE(model.written(), TopGunWriterModel::kHighWater);
        QVERIFY(QTest::qWaitFor(
            [&] {
                if (!model.paused())
                    pump();
                return model.written() == kWanted && model.pendingCount() == 0;
            },
            30000));
        QVERIFY(model.resumes() >= 1);
        QVERIFY(model.resolvedEvery());
        QTRY_COMPARE_WITH_TIMEOUT(acks, 2 * batches, 10000);
    }
};

QTEST_MAIN(tst_QueryWindows)
#include "tst_query_windows.moc"

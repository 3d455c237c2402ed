#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"
#include "crdt/LwwMap.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QSignalSpy>
#include <QTest>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

QCborMap processor(const QString &name, const QString &code, const QCborValue &args = {})
{
    QCborMap map { { u"name"_s, name }, { u"code"_s, code } };
    if (!args.isUndefined())
        map.insert(u"args"_s, args);
    return map;
}

QCborMap entryProcess(const QString &requestId, const QString &mapName, const QString &key,
    const QCborValue &processorValue)
{
    return QCborMap { { u"type"_s, u"ENTRY_PROCESS"_s }, { u"requestId"_s, requestId },
        { u"mapName"_s, mapName }, { u"key"_s, key }, { u"processor"_s, processorValue } };
}

QCborMap lwwPut(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, u"client-a"_s }, std::nullopt };
    return QCborMap { { u"type"_s, u"OP_BATCH"_s },
        { u"payload"_s, QCborMap { { u"ops"_s, QCborArray { op.toCbor() } } } } };
}

// The JavaScript TopGun's BuiltInProcessors send (the server runs them natively).
const QString kIncrementCode = u"const delta = args ?? 1; const newValue = (value ?? 0) + delta; "
                               "return { value: newValue, result: newValue };"_s;

} // namespace

class tst_EntryProcessor : public QObject
{
    Q_OBJECT

    std::unique_ptr<ServerCoordinator> m_server;

    std::unique_ptr<RawClient> client(
        const QString &user = u"user-1"_s, const QStringList &roles = { u"USER"_s })
    {
        auto c = std::make_unique<RawClient>();
        if (!c->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret, user, roles)))
            return nullptr;
        return c;
    }

    // Sends ENTRY_PROCESS and waits for its answer.
    QCborMap run(RawClient &c, const QString &key, const QCborValue &proc,
        const QString &mapName = u"public"_s, int timeoutMs = 20000)
    {
        static int next = 0;
        const QString requestId = u"req-%1"_s.arg(++next);
        c.send(entryProcess(requestId, mapName, key, proc));
        const std::optional<QCborMap> reply = c.take(u"ENTRY_PROCESS_RESPONSE"_s, timeoutMs);
        if (!reply)
            return {};
        if (reply->value(u"requestId"_s).toString() != requestId)
            return QCborMap { { u"error"_s, u"wrong requestId"_s } };
        return *reply;
    }

    std::optional<QCborValue> stored(const QString &key, const QString &mapName = u"public"_s)
    {
        crdt::LwwMap *map = m_server->getMap(mapName);
        return map ? map->get(key) : std::nullopt;
    }

private Q_SLOTS:
    void init()
    {
        ServerConfig config = testConfig();
        config.policy = auth::SecurityPolicy({
            { u"USER"_s, u"public*"_s, auth::SecurityPolicy::kAllActions },
            { u"USER"_s, u"tags"_s, auth::SecurityPolicy::kAllActions },
            { u"READER"_s, u"*"_s, auth::SecurityPolicy::Action::Read },
        });
        config.processorTimeoutMs = 200;
        m_server = startServer(config);
        QVERIFY(m_server);
    }

    void cleanup()
    {
        if (m_server)
            QVERIFY(stopServer(*m_server));
        m_server.reset();
    }

    void scriptRunsAndItsValueIsAnOrdinaryWrite()
    {
        auto requester = client();
        auto watcher = client(u"user-2"_s);
        QVERIFY(requester && watcher);
        for (RawClient *c : { requester.get(), watcher.get() }) {
            c->send(QCborMap { { u"type"_s, u"SYNC_INIT"_s }, { u"mapName"_s, u"public"_s } });
            QVERIFY(c->take(u"SYNC_RESP_ROOT"_s, 10000));
        }
        const QCborMap reply = run(*requester, u"k"_s,
            processor(u"add"_s, u"return { value: (value ?? 10) + args.by, result: 'added' };"_s,
                QCborMap { { u"by"_s, 5 } }));
        QVERIFY2(
            reply.value(u"success"_s).toBool(), qPrintable(reply.value(u"error"_s).toString()));
        QCOMPARE(reply.value(u"result"_s).toString(), u"added"_s);
        QCOMPARE(reply.value(u"newValue"_s).toInteger(), 15);
        QCOMPARE(stored(u"k"_s), std::optional<QCborValue>(15));
        // Every subscriber hears of it, the requester included.
        for (RawClient *c : { requester.get(), watcher.get() }) {
            const auto event = c->take(u"SERVER_EVENT"_s, 10000);
            QVERIFY(event);
            const QCborMap payload = event->value(u"payload"_s).toMap();
            QCOMPARE(payload.value(u"key"_s).toString(), u"k"_s);
            QCOMPARE(payload.value(u"record"_s).toMap().value(u"value"_s).toInteger(), 15);
        }
        // The value it returns unchanged is not written again.
        const QCborMap same
            = run(*requester, u"k"_s, processor(u"get"_s, u"return { value, result: value };"_s));
        QVERIFY(same.value(u"success"_s).toBool());
        QCOMPARE(same.value(u"result"_s).toInteger(), 15);
        QVERIFY(!requester->take(u"SERVER_EVENT"_s, 300));
        // Returning undefined deletes.
        const QCborMap removed = run(
            *requester, u"k"_s, processor(u"del"_s, u"return { value: undefined, result: 1 };"_s));
        QVERIFY(removed.value(u"success"_s).toBool());
        QVERIFY(!removed.contains(u"newValue"_s));
        QCOMPARE(stored(u"k"_s), std::nullopt);
        const auto event = watcher->take(u"SERVER_EVENT"_s, 10000);
        QVERIFY(event);
        QCOMPARE(event->value(u"payload"_s).toMap().value(u"eventType"_s).toString(), u"REMOVE"_s);
    }

    void builtInsGiveTheirResults()
    {
        auto c = client();
        QVERIFY(c);
        for (int i = 1; i <= 3; ++i) {
            const QCborMap reply
                = run(*c, u"n"_s, processor(u"builtin:increment"_s, kIncrementCode));
            QVERIFY(reply.value(u"success"_s).toBool());
            QCOMPARE(reply.value(u"result"_s).toInteger(), i);
        }
        QCOMPARE(stored(u"n"_s), std::optional<QCborValue>(3));
        QCOMPARE(run(*c, u"n"_s, processor(u"builtin:multiply"_s, u"x"_s, 4))
                     .value(u"newValue"_s)
                     .toInteger(),
            12);
        const QCborMap floored
            = run(*c, u"n"_s, processor(u"builtin:decrement_floor"_s, u"x"_s, 20));
        QCOMPARE(floored.value(u"result"_s).toMap().value(u"wasFloored"_s).toBool(), true);
        QCOMPARE(stored(u"n"_s), std::optional<QCborValue>(0));

        QVERIFY(run(*c, u"p"_s, processor(u"builtin:put_if_absent"_s, u"x"_s, u"first"_s))
                    .value(u"result"_s)
                    .toBool());
        QVERIFY(!run(*c, u"p"_s, processor(u"builtin:put_if_absent"_s, u"x"_s, u"second"_s))
                     .value(u"result"_s)
                     .toBool());
        QCOMPARE(stored(u"p"_s), std::optional<QCborValue>(u"first"_s));

        QCOMPARE(run(*c, u"a"_s, processor(u"builtin:array_push"_s, u"x"_s, u"x"_s))
                     .value(u"result"_s)
                     .toInteger(),
            1);
        QCOMPARE(run(*c, u"a"_s, processor(u"builtin:array_push"_s, u"x"_s, u"y"_s))
                     .value(u"result"_s)
                     .toInteger(),
            2);
        QVERIFY(run(*c, u"a"_s, processor(u"builtin:array_remove"_s, u"x"_s, u"x"_s))
                    .value(u"result"_s)
                    .toBool());
        QCOMPARE(stored(u"a"_s), std::optional<QCborValue>(QCborArray { u"y"_s }));

        run(*c, u"o"_s,
            processor(u"builtin:set_property"_s, u"x"_s,
                QCborMap { { u"path"_s, u"a.b"_s }, { u"value"_s, 7 } }));
        run(*c, u"o"_s, processor(u"builtin:merge"_s, u"x"_s, QCborMap { { u"version"_s, 1 } }));
        const QCborMap updated = run(*c, u"o"_s,
            processor(u"builtin:conditional_update"_s, u"x"_s,
                QCborMap { { u"expectedVersion"_s, 1 },
                    { u"newData"_s, QCborMap { { u"c"_s, true } } } }));
        QVERIFY(updated.value(u"result"_s).toMap().value(u"updated"_s).toBool());
        const QCborMap object = stored(u"o"_s).value_or(QCborValue()).toMap();
        QCOMPARE(object.value(u"a"_s).toMap().value(u"b"_s).toInteger(), 7);
        QCOMPARE(object.value(u"version"_s).toInteger(), 2);
        QVERIFY(object.value(u"c"_s).toBool());

        QVERIFY(run(*c, u"p"_s, processor(u"builtin:delete_if_equals"_s, u"x"_s, u"first"_s))
                    .value(u"result"_s)
                    .toBool());
        QCOMPARE(stored(u"p"_s), std::nullopt);

        // A value the native form does not take runs the code sent: JavaScript's answer.
        c->send(lwwPut(u"1"_s, u"public"_s, u"s"_s, u"a"_s, QDateTime::currentMSecsSinceEpoch()));
        QVERIFY(c->take(u"OP_ACK"_s, 10000));
        QCOMPARE(run(*c, u"s"_s, processor(u"builtin:increment"_s, kIncrementCode))
                     .value(u"newValue"_s)
                     .toString(),
            u"a1"_s);
    }

    void batchRunsEveryKey()
    {
        auto c = client();
        QVERIFY(c);
        c->send(QCborMap { { u"type"_s, u"ENTRY_PROCESS_BATCH"_s }, { u"requestId"_s, u"b1"_s },
            { u"mapName"_s, u"public"_s }, { u"keys"_s, QCborArray { u"x"_s, u"y"_s, u"z"_s } },
            { u"processor"_s,
                processor(u"k"_s,
                    u"if (key === 'z') throw new Error('no z'); return { value: key + '!', "
                    "result: key };"_s) } });
        const auto reply = c->take(u"ENTRY_PROCESS_BATCH_RESPONSE"_s, 20000);
        QVERIFY(reply);
        QCOMPARE(reply->value(u"requestId"_s).toString(), u"b1"_s);
        const QCborMap results = reply->value(u"results"_s).toMap();
        QCOMPARE(results.size(), 3);
        QCOMPARE(results.value(u"x"_s).toMap().value(u"newValue"_s).toString(), u"x!"_s);
        QCOMPARE(results.value(u"y"_s).toMap().value(u"result"_s).toString(), u"y"_s);
        QCOMPARE(results.value(u"z"_s).toMap().value(u"success"_s).toBool(), false);
        QCOMPARE(results.value(u"z"_s).toMap().value(u"error"_s).toString(), u"no z"_s);
        QCOMPARE(stored(u"y"_s), std::optional<QCborValue>(u"y!"_s));
        QCOMPARE(stored(u"z"_s), std::nullopt);

        // A long batch of keys answered at once (a built-in) completes too.
        QCborArray keys;
        for (int i = 0; i < 20000; ++i)
            keys.append(u"many-%1"_s.arg(i));
        // Waits in a real event loop: RawClient::take() polls, which would pace the node too.
        QSignalSpy received(c.get(), &RawClient::messageReceived);
        c->send(QCborMap { { u"type"_s, u"ENTRY_PROCESS_BATCH"_s }, { u"requestId"_s, u"b2"_s },
            { u"mapName"_s, u"public"_s }, { u"keys"_s, keys },
            { u"processor"_s, processor(u"builtin:put_if_absent"_s, u"x"_s, 1) } });
        while (!c->has(u"ENTRY_PROCESS_BATCH_RESPONSE"_s) && received.wait(30000)) { }
        const auto many = c->take(u"ENTRY_PROCESS_BATCH_RESPONSE"_s, 0);
        QVERIFY(many);
        QCOMPARE(many->value(u"results"_s).toMap().size(), 20000);
        QCOMPARE(stored(u"many-19999"_s), std::optional<QCborValue>(1));
    }

    void keyIsReadModifyWrittenAtomically()
    {
        auto a = client();
        auto b = client(u"user-2"_s);
        QVERIFY(a && b);
        const QCborMap inc
            = processor(u"inc"_s, u"return { value: (value ?? 0) + 1, result: value };"_s);
        const int perClient = 25;
        for (int i = 0; i < perClient; ++i) {
            a->send(entryProcess(u"a%1"_s.arg(i), u"public"_s, u"counter"_s, inc));
            b->send(entryProcess(u"b%1"_s.arg(i), u"public"_s, u"counter"_s, inc));
        }
        QSet<qint64> seen;
        for (RawClient *c : { a.get(), b.get() }) {
            for (int i = 0; i < perClient; ++i) {
                const auto reply = c->take(u"ENTRY_PROCESS_RESPONSE"_s, 30000);
                QVERIFY(reply);
                QVERIFY(reply->value(u"success"_s).toBool());
                seen.insert(reply->value(u"newValue"_s).toInteger());
            }
        }
        // Each run saw the one before it: no two produced the same value.
        QCOMPARE(seen.size(), 2 * perClient);
        QCOMPARE(stored(u"counter"_s), std::optional<QCborValue>(2 * perClient));

        // A client write that lands while a script runs on the key is not lost: the script runs
        // again on the value it wrote.
        const QCborMap slowInc = processor(u"slow"_s,
            u"const end = Date.now() + 60; while (Date.now() < end) {} "
            "return { value: (value ?? 0) + 1 };"_s);
        a->send(entryProcess(u"slow"_s, u"public"_s, u"race"_s, slowInc));
        b->send(lwwPut(u"1"_s, u"public"_s, u"race"_s, 100, QDateTime::currentMSecsSinceEpoch()));
        QVERIFY(b->take(u"OP_ACK"_s, 10000));
        const auto reply = a->take(u"ENTRY_PROCESS_RESPONSE"_s, 20000);
        QVERIFY(reply);
        QCOMPARE(reply->value(u"newValue"_s).toInteger(), 101);
        QCOMPARE(stored(u"race"_s), std::optional<QCborValue>(101));
    }

    void failuresAreReportedAndChangeNothing_data()
    {
        QTest::addColumn<QCborValue>("proc");
        QTest::addColumn<QString>("error");
        QTest::newRow("syntax") << QCborValue(processor(u"p"_s, u"return {"_s)) << u"SyntaxError"_s;
        QTest::newRow("throw") << QCborValue(processor(u"p"_s, u"throw 'nope';"_s)) << u"nope"_s;
        QTest::newRow("throw error")
            << QCborValue(processor(u"p"_s, u"throw new TypeError('bad type');"_s))
            << u"bad type"_s;
        QTest::newRow("not an object") << QCborValue(processor(u"p"_s, u"return 5;"_s))
                                       << u"Processor must return { value, result? } object"_s;
        QTest::newRow("no value") << QCborValue(processor(u"p"_s, u"return { result: 1 };"_s))
                                  << u"Processor must return { value, result? } object"_s;
        QTest::newRow("eval") << QCborValue(processor(u"p"_s, u"return eval('1');"_s))
                              << u"Forbidden pattern detected: \\beval\\b"_s;
        QTest::newRow("require") << QCborValue(
            processor(u"p"_s, u"const fs = require('fs'); return {value: 1};"_s))
                                 << u"Forbidden pattern detected: \\brequire\\b"_s;
        QTest::newRow("no code") << QCborValue(QCborMap { { u"name"_s, u"p"_s } })
                                 << u"Invalid processor: code"_s;
        QTest::newRow("long name")
            << QCborValue(processor(QString(101, u'n'), u"return {value: 1};"_s))
            << u"Invalid processor: name"_s;
        QTest::newRow("long code")
            << QCborValue(processor(u"p"_s, QString(10001, u' ') + u"return {value: 1};"_s))
            << u"Invalid processor: code"_s;
        QTest::newRow("not a map") << QCborValue(u"code"_s) << u"Invalid processor"_s;
        QTest::newRow("bytes") << QCborValue(
            processor(u"p"_s, u"return {value: args};"_s, QCborValue(QByteArray("\x01\x02"))))
                               << u"Unsupported value type"_s;
        QTest::newRow("cycle") << QCborValue(
            processor(u"p"_s, u"const o = {}; o.o = o; return {value: o};"_s))
                               << u"circular"_s;
    }

    void failuresAreReportedAndChangeNothing()
    {
        QFETCH(QCborValue, proc);
        QFETCH(QString, error);
        auto c = client();
        QVERIFY(c);
        c->send(
            lwwPut(u"1"_s, u"public"_s, u"f"_s, u"kept"_s, QDateTime::currentMSecsSinceEpoch()));
        QVERIFY(c->take(u"OP_ACK"_s, 10000));
        const QCborMap reply = run(*c, u"f"_s, proc);
        QVERIFY(!reply.isEmpty());
        QCOMPARE(reply.value(u"success"_s).toBool(), false);
        QVERIFY2(reply.value(u"error"_s).toString().contains(error, Qt::CaseInsensitive),
            qPrintable(reply.value(u"error"_s).toString()));
        QCOMPARE(stored(u"f"_s), std::optional<QCborValue>(u"kept"_s));
    }

    void permissionAndMapKindAreChecked()
    {
        auto reader = client(u"reader"_s, { u"READER"_s });
        QVERIFY(reader);
        const QCborMap denied
            = run(*reader, u"k"_s, processor(u"p"_s, u"return {value: 1};"_s), u"public"_s);
        QCOMPARE(denied.value(u"success"_s).toBool(), false);
        QCOMPARE(denied.value(u"error"_s).toString(), u"Access Denied for map public"_s);
        QCOMPARE(stored(u"k"_s), std::nullopt);

        auto c = client();
        QVERIFY(c);
        protocol::ClientOp op;
        op.id = u"1"_s;
        op.mapName = u"tags"_s;
        op.key = u"t"_s;
        op.opType = protocol::OpType::OrAdd;
        op.orRecord = crdt::OrRecord { u"v"_s,
            { QDateTime::currentMSecsSinceEpoch(), 0, u"client-a"_s }, u"tag-1"_s, std::nullopt };
        c->send(QCborMap { { u"type"_s, u"OP_BATCH"_s },
            { u"payload"_s, QCborMap { { u"ops"_s, QCborArray { op.toCbor() } } } } });
        QVERIFY(c->take(u"OP_ACK"_s, 10000));
        const QCborMap orMap
            = run(*c, u"t"_s, processor(u"p"_s, u"return {value: 1};"_s), u"tags"_s);
        QCOMPARE(orMap.value(u"error"_s).toString(), u"Entry processors need an LWW map"_s);
    }

    void malformedRequestsGetError400()
    {
        auto c = client();
        QVERIFY(c);
        c->send(QCborMap { { u"type"_s, u"ENTRY_PROCESS"_s }, { u"mapName"_s, u"public"_s },
            { u"key"_s, u"k"_s } });
        auto error = c->take(u"ERROR"_s, 10000);
        QVERIFY(error);
        QCOMPARE(error->value(u"payload"_s).toMap().value(u"code"_s).toInteger(), 400);
        c->send(QCborMap { { u"type"_s, u"ENTRY_PROCESS_BATCH"_s }, { u"requestId"_s, u"r"_s },
            { u"mapName"_s, u"public"_s }, { u"keys"_s, u"k"_s },
            { u"processor"_s, processor(u"p"_s, u"return {value: 1};"_s) } });
        error = c->take(u"ERROR"_s, 10000);
        QVERIFY(error);
        QCOMPARE(error->value(u"payload"_s).toMap().value(u"code"_s).toInteger(), 400);

        // Before AUTH: closed with 4001.
        RawClient anonymous;
        QVERIFY(anonymous.connectTo(m_server->port()));
        QVERIFY(anonymous.take(u"AUTH_REQUIRED"_s));
        anonymous.send(entryProcess(u"r"_s, u"public"_s, u"k"_s, processor(u"p"_s, u"x"_s)));
        QVERIFY(anonymous.waitForDisconnected(10000));
        QCOMPARE(anonymous.closeCode(), 4001);
    }

    void runawayScriptsAreStoppedWhileOthersAreServed_data()
    {
        QTest::addColumn<QString>("code");
        QTest::addColumn<QStringList>("errors");
        QTest::newRow("endless loop")
            << u"while (true) {}"_s << QStringList { u"Processor execution timed out"_s };
        QTest::newRow("unbounded allocation")
            << u"const a = []; while (true) a.push('x'.repeat(4096) + a.length);"_s
            << QStringList { u"Processor execution timed out"_s,
                   u"Processor exceeded its memory limit"_s };
        QTest::newRow("huge string") << u"let s = 'x'; while (true) s = s + s; "_s
                                     << QStringList { u"Processor execution timed out"_s,
                                            u"Processor exceeded its memory limit"_s,
                                            u"RangeError"_s, u"Invalid string length"_s };
        QTest::newRow("deep recursion")
            << u"function f() { return f() + 1; } return f();"_s
            << QStringList { u"RangeError"_s, u"Maximum call stack size exceeded"_s };
    }

    void runawayScriptsAreStoppedWhileOthersAreServed()
    {
        QFETCH(QString, code);
        QFETCH(QStringList, errors);
        auto attacker = client();
        auto other = client(u"user-2"_s);
        QVERIFY(attacker && other);
        attacker->send(entryProcess(u"evil"_s, u"public"_s, u"e"_s, processor(u"evil"_s, code)));
        // Another client's write and ping are answered while the script runs.
        other->send(lwwPut(u"1"_s, u"public"_s, u"w"_s, 1, QDateTime::currentMSecsSinceEpoch()));
        QVERIFY(other->take(u"OP_ACK"_s, 10000));
        const auto reply = attacker->take(u"ENTRY_PROCESS_RESPONSE"_s, 30000);
        QVERIFY(reply);
        QCOMPARE(reply->value(u"success"_s).toBool(), false);
        const QString error = reply->value(u"error"_s).toString();
        bool expected = false;
        for (const QString &e : errors)
            expected = expected || error.contains(e);
        QVERIFY2(expected, qPrintable(error));
        QCOMPARE(stored(u"e"_s), std::nullopt);
        // The node still runs scripts afterwards.
        const QCborMap after = run(*other, u"e"_s, processor(u"ok"_s, u"return {value: 2};"_s));
        QVERIFY(after.value(u"success"_s).toBool());
    }

    void scriptsCannotReachTheHostOrEachOther()
    {
        auto c = client();
        QVERIFY(c);
        const QCborMap host = run(*c, u"h"_s,
            processor(u"host"_s,
                u"const g = (function () { return this; })(); "
                "return { value: [typeof Qt, typeof console, typeof print, typeof gc, "
                "typeof g['XMLHttp' + 'Request'], typeof g['req' + 'uire'], typeof g['imp' + "
                "'ortScripts'], typeof g['set' + 'Timeout']].join(',') };"_s));
        QVERIFY2(host.value(u"success"_s).toBool(), qPrintable(host.value(u"error"_s).toString()));
        QCOMPARE(host.value(u"newValue"_s).toString(),
            u"undefined,undefined,undefined,undefined,undefined,undefined,undefined,undefined"_s);
        // Nothing one call leaves behind is seen by the next: no globals, no changed built-ins.
        run(*c, u"h"_s,
            processor(u"leak"_s,
                u"const g = (function () { return this; })(); try { g.leaked = 1; } catch (e) {} "
                "try { Array.prototype.push = function () { return 42; }; } catch (e) {} "
                "try { Math.max = () => 42; } catch (e) {} return { value: 'leak' };"_s));
        const QCborMap probe = run(*c, u"h"_s,
            processor(u"probe"_s,
                u"const g = (function () { return this; })(); const a = []; "
                "return { value: [typeof g.leaked, a.push(1), Math.max(1, 2)].join(',') };"_s));
        QCOMPARE(probe.value(u"newValue"_s).toString(), u"undefined,1,2"_s);
        // Constructors reached without naming them give nothing more.
        const QCborMap ctor = run(*c, u"h"_s,
            processor(u"ctor"_s,
                u"const F = [].constructor.constructor; const g = F('return this')(); "
                "return { value: typeof g.Qt + ',' + typeof g.console };"_s));
        QCOMPARE(ctor.value(u"newValue"_s).toString(), u"undefined,undefined"_s);
    }

    void syncEngineExecutesOnKeys()
    {
        client::SyncEngineConfig config;
        config.url = QUrl(u"ws://127.0.0.1:%1/"_s.arg(m_server->port()));
        client::SyncEngine engine(config);
        engine.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret)));
        engine.registerLwwMap(u"public"_s);
        QSignalSpy processed(&engine, &client::SyncEngine::entryProcessed);
        // Not connected: answered locally.
        const QString early = engine.executeOnKey(
            u"public"_s, u"e"_s, processor(u"builtin:increment"_s, kIncrementCode));
        QVERIFY(processed.wait(10000));
        QCOMPARE(processed.first().at(0).toString(), early);
        QCOMPARE(processed.first().at(1).value<protocol::EntryProcessResult>().error,
            std::optional<QString>(u"Not connected to server"_s));
        processed.clear();

        engine.start();
        QTRY_COMPARE_WITH_TIMEOUT(engine.state(), client::SyncEngine::State::Connected, 20000);
        const QString id = engine.executeOnKey(
            u"public"_s, u"e"_s, processor(u"builtin:increment"_s, kIncrementCode, 3));
        QVERIFY(processed.wait(20000));
        QCOMPARE(processed.first().at(0).toString(), id);
        const auto result = processed.first().at(1).value<protocol::EntryProcessResult>();
        QVERIFY(result.success);
        QCOMPARE(result.newValue.toInteger(), 3);
        // The client puts the new value into its own map too.
        QCOMPARE(engine.lwwMap(u"public"_s)->get(u"e"_s), std::optional<QCborValue>(3));

        QSignalSpy batch(&engine, &client::SyncEngine::entriesProcessed);
        engine.executeOnKeys(
            u"public"_s, { u"e"_s, u"f"_s }, processor(u"builtin:increment"_s, kIncrementCode));
        QVERIFY(batch.wait(20000));
        const QCborMap results = batch.first().at(1).value<QCborMap>();
        QCOMPARE(results.value(u"e"_s).toMap().value(u"newValue"_s).toInteger(), 4);
        QCOMPARE(results.value(u"f"_s).toMap().value(u"newValue"_s).toInteger(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(stored(u"f"_s), std::optional<QCborValue>(1), 10000);
        engine.close();
    }
};

QTEST_GUILESS_MAIN(tst_EntryProcessor)
#include "tst_entry_processor.moc"

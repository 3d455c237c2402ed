#include "processors/BuiltInProcessors.h"
#include "processors/CodeCheck.h"
#include "processors/ResolverRegistry.h"
#include "processors/Sandbox.h"
#include "processors/ScriptValues.h"
#include "processors/SpreadRewriter.h"
#include "processors/Watchdog.h"

#include <QCborArray>
#include <QCborMap>
#include <QTest>

using namespace wingman;
using namespace wingman::processors;
using namespace Qt::StringLiterals;

namespace {

const QCborValue kUndefined = QCborValue(QCborValue::Undefined);

// The built-ins as JavaScript, as the client sends them: the native forms must agree.
const QHash<QString, QString> &builtInCode()
{
    static const QHash<QString, QString> code {
        { u"increment"_s,
            u"const n = (value ?? 0) + (args ?? 1); return { value: n, result: n };"_s },
        { u"decrement"_s,
            u"const n = (value ?? 0) - (args ?? 1); return { value: n, result: n };"_s },
        { u"multiply"_s, u"const n = (value ?? 1) * args; return { value: n, result: n };"_s },
        { u"put_if_absent"_s,
            u"if (value !== undefined) return { value, result: false }; "
            "return { value: args, result: true };"_s },
        { u"array_push"_s,
            u"const a = [...(value ?? [])]; a.push(args); return { value: a, result: a.length };"_s },
        { u"array_pop"_s,
            u"const a = [...(value ?? [])]; const r = a.pop(); return { value: a, result: r };"_s },
        { u"delete_if_equals"_s,
            u"if (JSON.stringify(value) === JSON.stringify(args)) "
            "return { value: undefined, result: true }; return { value, result: false };"_s },
        { u"get"_s, u"return { value, result: value };"_s },
    };
    return code;
}

} // namespace

class TestProcessors : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void keyPatterns_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("key");
        QTest::addColumn<bool>("matches");
        QTest::newRow("star") << u"user:*"_s << u"user:42"_s << true;
        QTest::newRow("star empty") << u"user:*"_s << u"user:"_s << true;
        QTest::newRow("whole key") << u"user:*"_s << u"xuser:1"_s << false;
        QTest::newRow("question") << u"a?c"_s << u"abc"_s << true;
        QTest::newRow("question one") << u"a?c"_s << u"ac"_s << false;
        QTest::newRow("inner star") << u"a*b*c"_s << u"axxbyyc"_s << true;
        QTest::newRow("backtrack") << u"*ab"_s << u"aab"_s << true;
        QTest::newRow("literal") << u"abc"_s << u"abd"_s << false;
        QTest::newRow("no regex") << u"a.c"_s << u"abc"_s << false;
    }
    void keyPatterns()
    {
        QFETCH(QString, pattern);
        QFETCH(QString, key);
        QFETCH(bool, matches);
        QCOMPARE(ResolverRegistry::matchesKey(pattern, key), matches);
    }

    void forbiddenPatterns()
    {
        QCOMPARE(CodeCheck::forbiddenPattern(u"return eval('1')"_s), u"\\beval\\b"_s);
        QCOMPARE(CodeCheck::forbiddenPattern(u"setTimeout(f)"_s), u"\\bsetTimeout\\b"_s);
        QCOMPARE(CodeCheck::forbiddenPattern(u"const evaluate = 1; return {value: evaluate}"_s),
            QString());
        QCOMPARE(CodeCheck::forbiddenPattern(u"process.exit()"_s), u"\\bprocess\\b"_s);
    }

    void valuesCrossAsPlainData()
    {
        const QCborMap value { { u"a"_s, QCborArray { 1, 2.5, u"x"_s, true, nullptr } } };
        QVERIFY(ScriptValues::isPlain(value));
        QVERIFY(!ScriptValues::isPlain(QCborValue(QByteArray("x"))));
        QVERIFY(!ScriptValues::isPlain(QCborMap { { 1, 2 } }));
        QCOMPARE(ScriptValues::fromJson(ScriptValues::toJson(value)), QCborValue(value));
        QVERIFY(ScriptValues::fromJson(u"5"_s).isInteger());
        QVERIFY(ScriptValues::fromJson(QString()).isUndefined());
        QVERIFY(ScriptValues::deepEqual(QCborMap { { u"a"_s, 1 }, { u"b"_s, 2 } },
            QCborMap { { u"b"_s, 2.0 }, { u"a"_s, 1 } }));
        QVERIFY(!ScriptValues::deepEqual(QCborArray { 1, 2 }, QCborArray { 2, 1 }));
    }

    void builtInsAgreeWithTheirJavaScript_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QCborValue>("value");
        QTest::addColumn<QCborValue>("args");
        QTest::newRow("increment absent") << u"increment"_s << kUndefined << kUndefined;
        QTest::newRow("increment by") << u"increment"_s << QCborValue(4) << QCborValue(2.5);
        QTest::newRow("decrement") << u"decrement"_s << QCborValue(4) << QCborValue(7);
        QTest::newRow("multiply") << u"multiply"_s << kUndefined << QCborValue(3);
        QTest::newRow("put new") << u"put_if_absent"_s << kUndefined << QCborValue(u"v"_s);
        QTest::newRow("put held") << u"put_if_absent"_s << QCborValue(1) << QCborValue(u"v"_s);
        QTest::newRow("push") << u"array_push"_s << QCborValue(QCborArray { 1 })
                              << QCborValue(QCborMap { { u"a"_s, 1 } });
        QTest::newRow("pop") << u"array_pop"_s << QCborValue(QCborArray { 1, 2 }) << kUndefined;
        QTest::newRow("pop empty") << u"array_pop"_s << kUndefined << kUndefined;
        QTest::newRow("delete equal")
            << u"delete_if_equals"_s << QCborValue(QCborMap { { u"a"_s, 1 } })
            << QCborValue(QCborMap { { u"a"_s, 1 } });
        QTest::newRow("delete other") << u"delete_if_equals"_s << QCborValue(1) << QCborValue(2);
        QTest::newRow("get") << u"get"_s << QCborValue(u"x"_s) << kUndefined;
    }
    void builtInsAgreeWithTheirJavaScript()
    {
        QFETCH(QString, name);
        QFETCH(QCborValue, value);
        QFETCH(QCborValue, args);
        const std::optional<ProcessorRun> native
            = BuiltInProcessors::run(u"builtin:"_s + name, value, args);
        QVERIFY(native);
        Watchdog watchdog;
        Sandbox sandbox(watchdog, {});
        const ProcessorRun script
            = sandbox.runProcessor(builtInCode().value(name), value, u"k"_s, args);
        QVERIFY2(script.error.isEmpty(), qPrintable(script.error));
        QVERIFY2(ScriptValues::deepEqual(native->value, script.value),
            qPrintable(ScriptValues::toJson(native->value) + u" vs "_s
                + ScriptValues::toJson(script.value)));
        QVERIFY(ScriptValues::deepEqual(native->result, script.result));
    }

    void otherValuesAreLeftToTheScript()
    {
        QVERIFY(!BuiltInProcessors::run(u"builtin:increment"_s, u"a"_s, kUndefined));
        QVERIFY(!BuiltInProcessors::run(u"builtin:array_push"_s, 5, 1));
        QVERIFY(!BuiltInProcessors::run(u"builtin:unknown"_s, 5, 1));
        QVERIFY(!BuiltInProcessors::run(u"increment"_s, 5, 1));
    }

    void sandboxStopsAndRecovers()
    {
        Watchdog watchdog;
        ScriptLimits limits;
        limits.timeoutMs = 50;
        Sandbox sandbox(watchdog, limits);
        const quint64 engines = sandbox.enginesCreated();
        QCOMPARE(sandbox.runProcessor(u"while (true) {}"_s, kUndefined, u"k"_s, kUndefined).error,
            u"Processor execution timed out"_s);
        // The interrupted engine is replaced; the next call runs normally.
        QCOMPARE(sandbox.enginesCreated(), engines + 1);
        const ProcessorRun run
            = sandbox.runProcessor(u"return { value: key + args };"_s, kUndefined, u"k"_s, 1);
        QCOMPARE(run.value, QCborValue(u"k1"_s));
        limits.maxResultChars = 10;
        Sandbox small(watchdog, limits);
        QCOMPARE(small
                     .runProcessor(
                         u"return { value: 'x'.repeat(11) };"_s, kUndefined, u"k"_s, kUndefined)
                     .error,
            u"Processor result too large"_s);
    }

    void objectSpreadIsRewritten_data()
    {
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("expected"); // JSON of the returned value
        QTest::newRow("merge") << u"return { value: { ...value, ...args } };"_s
                               << u"{\"a\":1,\"b\":3,\"c\":4}"_s;
        QTest::newRow("mixed")
            << u"return { value: { x: 0, ...args, y: '}', ...{ z: [1, 2] } } };"_s
            << u"{\"x\":0,\"b\":3,\"c\":4,\"y\":\"}\",\"z\":[1,2]}"_s;
        QTest::newRow("nested") << u"const o = { a: { ...args, n: { ...value } } }; "
                                   "return { value: o };"_s
                                << u"{\"a\":{\"b\":3,\"c\":4,\"n\":{\"a\":1,\"b\":2}}}"_s;
        QTest::newRow("strings and comments")
            << u"/* { ...x } */ const s = '...{'; // { ...y }\n"
               "const r = /\\{.../; return { value: { ...value, s, t: `${s}{...}`, "
               "r: r.test('{abc') } };"_s
            << u"{\"a\":1,\"b\":2,\"s\":\"...{\",\"t\":\"...{{...}\",\"r\":true}"_s;
        QTest::newRow("array spread untouched")
            << u"return { value: [...[1], ...[2]] };"_s << u"[1,2]"_s;
        QTest::newRow("conditional update")
            << u"if (value?.version !== args.expectedVersion) return { value, result: false }; "
               "return { value: { ...value, ...args.newData, version: value.version + 1 } };"_s
            << u"{\"a\":1,\"b\":2,\"version\":2,\"d\":5}"_s;
    }
    void objectSpreadIsRewritten()
    {
        QFETCH(QString, code);
        QFETCH(QString, expected);
        Watchdog watchdog;
        Sandbox sandbox(watchdog, {});
        QCborMap value { { u"a"_s, 1 }, { u"b"_s, 2 } };
        QCborMap args { { u"b"_s, 3 }, { u"c"_s, 4 } };
        if (QTest::currentDataTag() == QByteArray("conditional update")) {
            value.insert(u"version"_s, 1);
            args = QCborMap { { u"expectedVersion"_s, 1 },
                { u"newData"_s, QCborMap { { u"d"_s, 5 } } } };
        }
        const ProcessorRun run = sandbox.runProcessor(code, value, u"k"_s, args);
        QVERIFY2(run.error.isEmpty(), qPrintable(run.error));
        QVERIFY2(ScriptValues::deepEqual(run.value, ScriptValues::fromJson(expected)),
            qPrintable(ScriptValues::toJson(run.value)));
        QCOMPARE(SpreadRewriter::rewrite(u"return [1, 2];"_s), std::nullopt);
    }

    void resolverRunsGiveTheirAction()
    {
        Watchdog watchdog;
        Sandbox sandbox(watchdog, {});
        const QCborMap context { { u"remoteValue"_s, 3 } };
        ResolverRun run = sandbox.runResolver(
            u"return { action: 'merge', value: context.remoteValue * 2 };"_s, context);
        QCOMPARE(run.action, u"merge"_s);
        QCOMPARE(run.value, QCborValue(6));
        run = sandbox.runResolver(u"return { action: 'reject', reason: 'no' };"_s, context);
        QCOMPARE(run.reason, u"no"_s);
        QVERIFY(!sandbox.runResolver(u"return 1;"_s, context).error.isEmpty());
        QVERIFY(!sandbox.runResolver(u"throw new Error('x');"_s, context).error.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestProcessors)
#include "tst_processors.moc"

#include "protocol/Wire.h"
#include "query/Matcher.h"

#include <QCborArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <algorithm>

using namespace wingman::query;

namespace {

// JSON text as a CBOR value; integral JSON numbers become CBOR integers.
QCborValue cbor(const char *json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad JSON in test data: %s", json);
    return document.isArray() ? QCborValue(QCborArray::fromJsonArray(document.array()))
                              : QCborValue(QCborMap::fromJsonObject(document.object()));
}

QCborValue record(const QString &attribute, const QCborValue &value)
{
    QCborMap map;
    map.insert(attribute, value);
    return map;
}

QCborValue predicate(const char *op, const QString &attribute, const QCborValue &value)
{
    QCborMap p;
    p.insert(QStringLiteral("op"), QString::fromLatin1(op));
    p.insert(QStringLiteral("attribute"), attribute);
    p.insert(QStringLiteral("value"), value);
    QCborMap query;
    query.insert(QStringLiteral("predicate"), p);
    return query;
}

Query parse(const QCborValue &value)
{
    QString error;
    const auto query = Query::fromCbor(value, &error);
    if (!query)
        qFatal("bad query in test data: %s", qPrintable(error));
    return *query;
}

// [[key, value], ...] as entries.
QList<Matcher::Entry> entries(const char *json)
{
    QList<Matcher::Entry> result;
    for (const QCborValue &pair : cbor(json).toArray())
        result.append({ pair.toArray().at(0).toString(), pair.toArray().at(1) });
    return result;
}

QStringList keys(const QList<Matcher::Entry> &list)
{
    QStringList result;
    for (const Matcher::Entry &entry : list)
        result.append(entry.key);
    return result;
}

} // namespace

Q_DECLARE_METATYPE(wingman::query::Matcher::Entry)

class tst_Matcher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void matches_data()
    {
        QTest::addColumn<QCborValue>("value");
        QTest::addColumn<QCborValue>("query");
        QTest::addColumn<bool>("expected");

        const QCborValue empty = QCborMap();
        const QCborValue person = cbor(R"({"name":"Ada Lovelace","age":36,"score":9.5,
            "active":true,"tags":["math","poetry"],"address":{"city":"London","zip":"W1"},
            "nothing":null,"a.b":"literal"})");

        // Empty query and tombstones.
        QTest::newRow("empty query, map") << person << empty << true;
        QTest::newRow("empty query, string value") << QCborValue("text") << empty << true;
        QTest::newRow("empty query, zero") << QCborValue(0) << empty << true;
        QTest::newRow("tombstone (null)") << QCborValue(nullptr) << empty << false;
        QTest::newRow("tombstone (undefined)") << QCborValue() << empty << false;
        QTest::newRow("non-map value, where")
            << QCborValue("Ada") << cbor(R"({"where":{"name":"Ada"}})") << false;

        // where: equality.
        QTest::newRow("where string")
            << person << cbor(R"({"where":{"name":"Ada Lovelace"}})") << true;
        QTest::newRow("where string, case matters")
            << person << cbor(R"({"where":{"name":"ada lovelace"}})") << false;
        QTest::newRow("where all must hold")
            << person << cbor(R"({"where":{"name":"Ada Lovelace","age":37}})") << false;
        QTest::newRow("where int equals float")
            << person << QCborValue(QCborMap { { "where", QCborMap { { "age", 36.0 } } } }) << true;
        QTest::newRow("where float equals int")
            << record("n", 2.0) << QCborValue(QCborMap { { "where", QCborMap { { "n", 2 } } } })
            << true;
        QTest::newRow("where number is not a string")
            << person << cbor(R"({"where":{"age":"36"}})") << false;
        QTest::newRow("where bool") << person << cbor(R"({"where":{"active":true}})") << true;
        QTest::newRow("where missing attribute")
            << person << cbor(R"({"where":{"email":"x"}})") << false;
        QTest::newRow("where null matches null")
            << person << cbor(R"({"where":{"nothing":null}})") << true;
        QTest::newRow("where null does not match absent")
            << person << cbor(R"({"where":{"email":null}})") << false;
        QTest::newRow("where deep map")
            << person << cbor(R"({"where":{"address":{"zip":"W1","city":"London"}}})") << true;
        QTest::newRow("where deep map, differs")
            << person << cbor(R"({"where":{"address":{"city":"London"}}})") << false;
        QTest::newRow("where array")
            << person << cbor(R"({"where":{"tags":["math","poetry"]}})") << true;
        QTest::newRow("where array order matters")
            << person << cbor(R"({"where":{"tags":["poetry","math"]}})") << false;
        QTest::newRow("where bytes")
            << record("b", QByteArray("\x01\x02"))
            << QCborValue(QCborMap { { "where", QCborMap { { "b", QByteArray("\x01\x02") } } } })
            << true;

        // where: operators.
        QTest::newRow("where range inside")
            << person << cbor(R"({"where":{"age":{"$gte":18,"$lt":65}}})") << true;
        QTest::newRow("where range outside")
            << person << cbor(R"({"where":{"age":{"$gt":36}}})") << false;
        QTest::newRow("where $ne") << person << cbor(R"({"where":{"name":{"$ne":"Bob"}}})") << true;

        // Attribute paths.
        QTest::newRow("dotted path")
            << person << cbor(R"({"where":{"address.city":"London"}})") << true;
        QTest::newRow("dotted path, other value")
            << person << cbor(R"({"where":{"address.city":"Paris"}})") << false;
        QTest::newRow("literal dotted key")
            << person << cbor(R"({"where":{"a.b":"literal"}})") << true;
        QTest::newRow("path through a non-map")
            << person << cbor(R"({"where":{"name.first":"Ada"}})") << false;
        QTest::newRow("path to a missing key, neq")
            << person << predicate("neq", "address.country", "UK") << true;

        // Comparisons.
        QTest::newRow("eq") << person << predicate("eq", "age", 36) << true;
        QTest::newRow("neq") << person << predicate("neq", "age", 36) << false;
        QTest::newRow("neq missing") << person << predicate("neq", "email", "x") << true;
        QTest::newRow("gt") << person << predicate("gt", "age", 35) << true;
        QTest::newRow("gt equal") << person << predicate("gt", "age", 36) << false;
        QTest::newRow("gte equal") << person << predicate("gte", "age", 36) << true;
        QTest::newRow("lt float") << person << predicate("lt", "score", 10) << true;
        QTest::newRow("lte int vs float") << person << predicate("lte", "age", 36.0) << true;
        QTest::newRow("gt float vs int") << person << predicate("gt", "score", 9) << true;
        QTest::newRow("beyond 2^53") << record("n", qint64(9007199254740993))
                                     << predicate("gt", "n", 9007199254740992.0) << true;
        QTest::newRow("gt string") << person << predicate("gt", "name", "Ad") << true;
        QTest::newRow("strings by code unit")
            << record("s", "B") << predicate("lt", "s", "a") << true; // 'B' (66) < 'a' (97)
        QTest::newRow("string vs number, gt") << person << predicate("gt", "name", 1) << false;
        QTest::newRow("string vs number, lt") << person << predicate("lt", "name", 1) << false;
        QTest::newRow("bools") << person << predicate("gt", "active", false) << true;
        QTest::newRow("missing, gt") << person << predicate("gt", "email", 0) << false;
        QTest::newRow("missing, lte") << person << predicate("lte", "email", 0) << false;
        QTest::newRow("NaN, gte") << record("n", qQNaN()) << predicate("gte", "n", 0) << false;
        QTest::newRow("NaN, lt") << record("n", qQNaN()) << predicate("lt", "n", 0) << false;
        QTest::newRow("NaN is not equal to itself")
            << record("n", qQNaN()) << predicate("eq", "n", qQNaN()) << false;

        // like.
        QTest::newRow("like prefix, case-insensitive")
            << person << predicate("like", "name", "ada%") << true;
        QTest::newRow("like suffix") << person << predicate("like", "name", "%LACE") << true;
        QTest::newRow("like underscore")
            << record("s", "hello") << predicate("like", "s", "h_llo") << true;
        QTest::newRow("like underscore is one char")
            << record("s", "heello") << predicate("like", "s", "h_llo") << false;
        QTest::newRow("like is anchored")
            << record("s", "hello") << predicate("like", "s", "hell") << false;
        QTest::newRow("like dot is literal")
            << record("s", "abc") << predicate("like", "s", "a.c") << false;
        QTest::newRow("like literal metacharacters")
            << record("s", "a+b*(c)?") << predicate("like", "s", "a+b*(c)?") << true;
        QTest::newRow("like percent spans lines")
            << record("s", "line1\nline2") << predicate("like", "s", "line1%") << true;
        QTest::newRow("like non-ASCII case")
            << record("s", QStringLiteral("ÄRGER"))
            << predicate("like", "s", QStringLiteral("ärger")) << true;
        QTest::newRow("like needs a string") << person << predicate("like", "age", "3%") << false;

        // regex.
        QTest::newRow("regex anchored") << person << predicate("regex", "name", "^Ada") << true;
        QTest::newRow("regex searches") << person << predicate("regex", "name", "a L") << true;
        QTest::newRow("regex is case-sensitive")
            << person << predicate("regex", "name", "^ada") << false;
        QTest::newRow("regex classes")
            << person << predicate("regex", "address.zip", "^W\\d$") << true;
        QTest::newRow("regex needs a string") << person << predicate("regex", "age", "3") << false;
        QTest::newRow("regex search finds a middle")
            << record("s", "xxabcxx") << predicate("regex", "s", "abc") << true;
        QTest::newRow("regex search is not a full match")
            << record("s", "xxabcxx") << predicate("regex", "s", "^abc$") << false;
        QTest::newRow("regex dollar is the end of the text")
            << record("s", "abc\n") << predicate("regex", "s", "abc$") << false;
        QTest::newRow("regex dot stops at a newline")
            << record("s", "a\nb") << predicate("regex", "s", "a.b") << false;
        QTest::newRow("regex alternation and groups")
            << record("s", "grey") << predicate("regex", "s", "gr(a|e)y") << true;
        QTest::newRow("regex dot is one non-ASCII character")
            << record("s", QStringLiteral("naïve")) << predicate("regex", "s", "^na.ve$") << true;
        QTest::newRow("regex non-ASCII literal")
            << record("s", QStringLiteral("Grüße aus Köln"))
            << predicate("regex", "s", QStringLiteral("ö")) << true;
        QTest::newRow("regex beyond the BMP") << record("s", QStringLiteral("a\U0001F600b"))
                                              << predicate("regex", "s", "^a.b$") << true;
        QTest::newRow("regex nested repetition, no match")
            << record("s", QString(40, u'a') + u'b') << predicate("regex", "s", "^(a+)+$") << false;
        QTest::newRow("regex nested repetition, match")
            << record("s", QString(40, u'a')) << predicate("regex", "s", "^(a+)+$") << true;
        QTest::newRow("like over non-BMP text")
            << record("s", QStringLiteral("x\U0001F600y")) << predicate("like", "s", "x_y") << true;

        // contains.
        QTest::newRow("contains") << person << predicate("contains", "name", "LOVE") << true;
        QTest::newRow("contains, absent")
            << person << predicate("contains", "name", "Bob") << false;
        QTest::newRow("containsAll")
            << person << predicate("containsAll", "name", QCborArray { "ada", "lace" }) << true;
        QTest::newRow("containsAll, one missing")
            << person << predicate("containsAll", "name", QCborArray { "ada", "bob" }) << false;
        QTest::newRow("containsAny")
            << person << predicate("containsAny", "name", QCborArray { "bob", "lace" }) << true;
        QTest::newRow("containsAny, none")
            << person << predicate("containsAny", "name", QCborArray { "bob" }) << false;

        // and / or / not.
        QTest::newRow("and") << person << cbor(R"({"predicate":{"op":"and","children":[
            {"op":"eq","attribute":"age","value":36},{"op":"like","attribute":"name","value":"ada%"}]}})")
                             << true;
        QTest::newRow("and, one false") << person << cbor(R"({"predicate":{"op":"and","children":[
            {"op":"eq","attribute":"age","value":36},{"op":"eq","attribute":"active","value":false}]}})")
                                        << false;
        QTest::newRow("or, one true") << person << cbor(R"({"predicate":{"op":"or","children":[
            {"op":"eq","attribute":"age","value":1},{"op":"eq","attribute":"active","value":true}]}})")
                                      << true;
        QTest::newRow("or, none true") << person << cbor(R"({"predicate":{"op":"or","children":[
            {"op":"eq","attribute":"age","value":1},{"op":"eq","attribute":"active","value":false}]}})")
                                       << false;
        QTest::newRow("empty and")
            << person << cbor(R"({"predicate":{"op":"and","children":[]}})") << true;
        QTest::newRow("empty or") << person << cbor(R"({"predicate":{"op":"or","children":[]}})")
                                  << false;
        QTest::newRow("not") << person << cbor(R"({"predicate":{"op":"not","children":[
            {"op":"eq","attribute":"age","value":36}]}})")
                             << false;
        QTest::newRow("nested") << person << cbor(R"({"predicate":{"op":"and","children":[
            {"op":"or","children":[{"op":"lt","attribute":"age","value":18},
                                   {"op":"gte","attribute":"score","value":9}]},
            {"op":"not","children":[{"op":"eq","attribute":"address.city","value":"Paris"}]}]}})")
                                << true;
        QTest::newRow("predicate wins over where")
            << person
            << cbor(R"({"where":{"age":1},"predicate":{"op":"eq","attribute":"age","value":36}})")
            << true;
    }

    void matches()
    {
        QFETCH(QCborValue, value);
        QFETCH(QCborValue, query);
        QFETCH(bool, expected);
        const Query parsed = parse(query);
        QCOMPARE(Matcher::matches(parsed, value), expected);
        QCOMPARE(Matcher::matches(parsed.condition(), value), expected);
        // A record's value, as a tree and in its wire form.
        QCOMPARE(Matcher::matches(parsed, wingman::crdt::Value(value)), expected);
        QCOMPARE(Matcher::matches(parsed,
                     wingman::crdt::Value::fromPacked(wingman::wire::MsgPackCodec::encode(value))),
            expected);
    }

    void attributeValue()
    {
        const QCborValue value = cbor(R"({"a":{"b":{"c":1}},"a.b":2,"x":null})");
        QCOMPARE(Matcher::attributeValue(value, "a.b.c"), QCborValue(1));
        QCOMPARE(Matcher::attributeValue(value, "a.b"), QCborValue(2)); // literal key first
        QCOMPARE(Matcher::attributeValue(value, "x"), QCborValue(nullptr));
        QVERIFY(Matcher::attributeValue(value, "a.c").isUndefined());
        QVERIFY(Matcher::attributeValue(value, "missing").isUndefined());
        QVERIFY(Matcher::attributeValue(QCborValue("text"), "a").isUndefined());
    }

    void sortAndLimit_data()
    {
        QTest::addColumn<QCborValue>("query");
        QTest::addColumn<QList<Matcher::Entry>>("input");
        QTest::addColumn<QStringList>("expectedKeys");
        QTest::addColumn<bool>("expectedHasMore");

        const auto people = entries(R"([["k3",{"name":"Cy","age":30}],["k1",{"name":"Al","age":40}],
            ["k2",{"name":"Bo","age":30}],["k4",{"name":"Di"}],["k0",{"name":"Ed","age":25.5}]])");

        QTest::newRow("no sort: by key")
            << cbor("{}") << people << QStringList { "k0", "k1", "k2", "k3", "k4" } << false;
        QTest::newRow("asc, missing first, tie by key")
            << cbor(R"({"sort":{"age":"asc"}})") << people
            << QStringList { "k4", "k0", "k2", "k3", "k1" } << false;
        QTest::newRow("desc, missing last, tie still by key")
            << cbor(R"({"sort":{"age":"desc"}})") << people
            << QStringList { "k1", "k2", "k3", "k0", "k4" } << false;
        QTest::newRow("two keys") << cbor(R"({"sort":{"age":"asc","name":"desc"}})") << people
                                  << QStringList { "k4", "k0", "k3", "k2", "k1" } << false;
        // Built directly, because QJsonObject would put "a" before "z" (giving q, p, r).
        QTest::newRow("two keys, map order decides")
            << QCborValue(QCborMap { { "sort", QCborMap { { "z", "asc" }, { "a", "asc" } } } })
            << entries(R"([["p",{"z":1,"a":2}],["q",{"z":1,"a":1}],["r",{"z":0,"a":3}]])")
            << QStringList { "r", "q", "p" } << false;
        QTest::newRow("limit") << cbor(R"({"sort":{"name":"asc"},"limit":2})") << people
                               << QStringList { "k1", "k2" } << true;
        QTest::newRow("limit equals size") << cbor(R"({"limit":5})") << people
                                           << QStringList { "k0", "k1", "k2", "k3", "k4" } << false;
        QTest::newRow("limit beyond size") << cbor(R"({"limit":50})") << people
                                           << QStringList { "k0", "k1", "k2", "k3", "k4" } << false;
        QTest::newRow("empty input")
            << cbor(R"({"limit":2})") << QList<Matcher::Entry>() << QStringList() << false;
        QTest::newRow("strings by code unit")
            << cbor(R"({"sort":{"s":"asc"}})")
            << entries(R"([["a",{"s":"b"}],["b",{"s":"B"}],["c",{"s":"a"}],["d",{"s":"Z"}]])")
            << QStringList { "b", "d", "c", "a" } << false;
        QTest::newRow("mixed kinds")
            << cbor(R"({"sort":{"v":"asc"}})")
            << entries(R"([["s",{"v":"x"}],["n",{"v":1}],["b",{"v":true}],["z",{"v":null}],
                           ["m",{}],["f",{"v":false}],["o",{"v":{"x":1}}],["d",{"v":0.5}]])")
            << QStringList { "m", "z", "f", "b", "d", "n", "s", "o" } << false;
        QTest::newRow("dotted sort attribute")
            << cbor(R"({"sort":{"a.n":"desc"}})")
            << entries(R"([["x",{"a":{"n":1}}],["y",{"a":{"n":3}}],["z",{"a":{"n":2}}]])")
            << QStringList { "y", "z", "x" } << false;
    }

    void sortAndLimit()
    {
        QFETCH(QCborValue, query);
        QFETCH(QList<Matcher::Entry>, input);
        QFETCH(QStringList, expectedKeys);
        QFETCH(bool, expectedHasMore);

        const Query parsed = parse(query);
        bool hasMore = !expectedHasMore;
        const QList<Matcher::Entry> result = Matcher::sortAndLimit(parsed, input, &hasMore);
        QCOMPARE(keys(result), expectedKeys);
        QCOMPARE(hasMore, expectedHasMore);
        for (const Matcher::Entry &entry : result) {
            const auto original = std::find_if(
                input.cbegin(), input.cend(), [&](const auto &e) { return e.key == entry.key; });
            QVERIFY(original != input.cend());
            QCOMPARE(entry.value, original->value);
        }
        // lessThan agrees with the order sortAndLimit produced.
        for (qsizetype i = 1; i < result.size(); ++i) {
            QVERIFY(Matcher::lessThan(parsed, result.at(i - 1), result.at(i)));
            QVERIFY(!Matcher::lessThan(parsed, result.at(i), result.at(i - 1)));
        }
    }

    void sortIsStableForEqualEntries()
    {
        // Equal keys cannot occur in one map, but the order must still not depend on the sort.
        const QList<Matcher::Entry> input { { "k", cbor(R"({"n":1,"tag":"first"})") },
            { "k", cbor(R"({"n":1,"tag":"second"})") }, { "a", cbor(R"({"n":2})") } };
        const auto result = Matcher::sortAndLimit(parse(cbor(R"({"sort":{"n":"asc"}})")), input);
        QCOMPARE(result.size(), 3);
        QCOMPARE(result.at(0).value.toMap().value(QStringLiteral("tag")).toString(),
            QStringLiteral("first"));
        QCOMPARE(result.at(1).value.toMap().value(QStringLiteral("tag")).toString(),
            QStringLiteral("second"));
        QCOMPARE(result.at(2).key, QStringLiteral("a"));
    }

    // ^(a+)+$ over "aaaa…b" takes exponential time in a backtracking engine; RE2 is linear. The
    // bound is far above RE2's time and far below a backtracking engine's.
    void nestedRepetitionIsLinear()
    {
        const Query query = parse(predicate("regex", "s", "^(a+)+$"));
        const QCborValue value = record("s", QString(30, u'a') + u'b');
        QElapsedTimer timer;
        timer.start();
        int matched = 0;
        for (int i = 0; i < 100; ++i)
            matched += Matcher::matches(query, value) ? 1 : 0;
        qInfo("100 records against ^(a+)+$: %lld ms", qint64(timer.elapsed()));
        QCOMPARE(matched, 0);
        QVERIFY(timer.elapsed() < 2000);
    }

    void refusedPatterns_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("problem");
        QTest::newRow("backreference") << QStringLiteral("(a)\\1") << QStringLiteral("\\1");
        QTest::newRow("lookahead") << QStringLiteral("a(?=b)") << QStringLiteral("(?=");
        QTest::newRow("lookbehind") << QStringLiteral("(?<=a)b") << QStringLiteral("(?<");
        QTest::newRow("unbalanced") << QStringLiteral("(abc") << QStringLiteral("missing )");
    }

    void refusedPatterns()
    {
        QFETCH(QString, pattern);
        QFETCH(QString, problem);
        QString error;
        QVERIFY(!Query::fromCbor(predicate("regex", "s", pattern), &error));
        QVERIFY2(
            error.startsWith(QStringLiteral("predicate: bad regex pattern '%1': ").arg(pattern)),
            qPrintable(error));
        QVERIFY2(error.contains(problem), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(tst_Matcher)
#include "tst_matcher.moc"

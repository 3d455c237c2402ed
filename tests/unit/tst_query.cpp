#include "query/Query.h"

#include <QCborArray>
#include <QCborMap>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

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

QCborValue withLimit(const QCborValue &limit)
{
    QCborMap map;
    map.insert(QStringLiteral("limit"), limit);
    return map;
}

} // namespace

class tst_Query : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void emptyQueries_data()
    {
        QTest::addColumn<QCborValue>("value");
        QTest::newRow("absent") << QCborValue();
        QTest::newRow("null") << QCborValue(nullptr);
        QTest::newRow("empty map") << QCborValue(QCborMap());
        QTest::newRow("empty parts") << cbor(R"({"where":{},"sort":{},"limit":0})");
        QTest::newRow("null parts")
            << cbor(R"({"where":null,"predicate":null,"sort":null,"limit":null,"cursor":null})");
    }

    void emptyQueries()
    {
        QFETCH(QCborValue, value);
        QString error;
        const auto query = Query::fromCbor(value, &error);
        QVERIFY2(query, qPrintable(error));
        QCOMPARE(*query, Query());
        QVERIFY(query->where().isEmpty());
        QVERIFY(!query->predicate());
        QVERIFY(query->sort().isEmpty());
        QCOMPARE(query->limit(), 0);
        QVERIFY(query->cursor().isEmpty());
        QCOMPARE(query->condition().op(), Predicate::Op::And);
        QVERIFY(query->condition().children().isEmpty());
        QCOMPARE(query->toCbor(), QCborMap());
    }

    void parts()
    {
        QString error;
        const auto query = Query::fromCbor(
            cbor(R"({"where":{"status":"open"},"sort":{"priority":"desc","title":"asc"},
                     "limit":25,"cursor":"abc"})"),
            &error);
        QVERIFY2(query, qPrintable(error));
        QCOMPARE(query->where().value(QStringLiteral("status")).toString(), QStringLiteral("open"));
        const QList<Query::SortKey> sort { { "priority", Query::Direction::Descending },
            { "title", Query::Direction::Ascending } };
        QCOMPARE(query->sort(), sort);
        QCOMPARE(query->limit(), 25);
        QCOMPARE(query->cursor(), QStringLiteral("abc"));
    }

    void sortKeepsMapOrder()
    {
        QString error;
        // Built directly: going through QJsonObject would sort the keys.
        const QCborMap sort { { "z", "asc" }, { "a", "desc" }, { "m", "asc" } };
        const auto query = Query::fromCbor(QCborMap { { "sort", sort } }, &error);
        QVERIFY2(query, qPrintable(error));
        QCOMPARE(query->sort().size(), 3);
        QCOMPARE(query->sort().at(0).attribute, QStringLiteral("z"));
        QCOMPARE(query->sort().at(1).attribute, QStringLiteral("a"));
        QCOMPARE(query->sort().at(2).attribute, QStringLiteral("m"));
        QCOMPARE(query->toCbor().value(QStringLiteral("sort")).toMap(), sort);
    }

    void limits_data()
    {
        QTest::addColumn<QCborValue>("limit");
        QTest::addColumn<qint64>("expected");
        QTest::newRow("integer") << QCborValue(10) << qint64(10);
        QTest::newRow("float64 from JavaScript") << QCborValue(10.0) << qint64(10);
        QTest::newRow("zero means none") << QCborValue(0) << qint64(0);
        QTest::newRow("large") << QCborValue(qint64(1) << 40) << (qint64(1) << 40);
    }

    void limits()
    {
        QFETCH(QCborValue, limit);
        QFETCH(qint64, expected);
        QString error;
        const auto query = Query::fromCbor(withLimit(limit), &error);
        QVERIFY2(query, qPrintable(error));
        QCOMPARE(query->limit(), expected);
    }

    void whereBecomesCondition_data()
    {
        QTest::addColumn<QCborValue>("query");
        QTest::addColumn<QCborValue>("condition"); // expected, as a predicate

        QTest::newRow("equalities")
            << cbor(R"({"where":{"a":1,"b":"x"}})") << cbor(R"({"op":"and","children":[
                                        {"op":"eq","attribute":"a","value":1},
                                        {"op":"eq","attribute":"b","value":"x"}]})");
        QTest::newRow("operators")
            << cbor(R"({"where":{"age":{"$gte":18,"$lt":65}}})") << cbor(R"({"op":"and","children":[
                                        {"op":"gte","attribute":"age","value":18},
                                        {"op":"lt","attribute":"age","value":65}]})");
        QTest::newRow("ne and eq operators") << cbor(R"({"where":{"s":{"$ne":"x"},"t":{"$eq":2}}})")
                                             << cbor(R"({"op":"and","children":[
                                        {"op":"neq","attribute":"s","value":"x"},
                                        {"op":"eq","attribute":"t","value":2}]})");
        QTest::newRow("map value is an equality")
            << cbor(R"({"where":{"address":{"city":"Oslo"}}})") << cbor(R"({"op":"and","children":[
                    {"op":"eq","attribute":"address","value":{"city":"Oslo"}}]})");
        QTest::newRow("predicate wins over where")
            << cbor(R"({"where":{"a":1},"predicate":{"op":"eq","attribute":"b","value":2}})")
            << cbor(R"({"op":"eq","attribute":"b","value":2})");
    }

    void whereBecomesCondition()
    {
        QFETCH(QCborValue, query);
        QFETCH(QCborValue, condition);
        QString error;
        const auto parsed = Query::fromCbor(query, &error);
        QVERIFY2(parsed, qPrintable(error));
        const auto expected = Predicate::fromCbor(condition, &error);
        QVERIFY2(expected, qPrintable(error));
        QCOMPARE(parsed->condition(), *expected);
    }

    void roundTrip_data()
    {
        QTest::addColumn<QCborValue>("query");
        QTest::newRow("where") << cbor(R"({"where":{"a":1,"b":{"$gt":2}}})");
        QTest::newRow("predicate tree") << cbor(R"({"predicate":{"op":"or","children":[
            {"op":"like","attribute":"name","value":"jo%"},
            {"op":"not","children":[{"op":"regex","attribute":"email","value":"@example\\.com$"}]},
            {"op":"and","children":[]},
            {"op":"containsAny","attribute":"tags","value":["a","b"]},
            {"op":"eq","attribute":"deleted"}]}})");
        QTest::newRow("everything") << cbor(R"({"where":{"x":true},
            "predicate":{"op":"lte","attribute":"n","value":3.5},
            "sort":{"n":"desc","k":"asc"},"limit":7,"cursor":"c1"})");
    }

    void roundTrip()
    {
        QFETCH(QCborValue, query);
        QString error;
        const auto parsed = Query::fromCbor(query, &error);
        QVERIFY2(parsed, qPrintable(error));
        // JSON objects compare regardless of key order; the test data holds no int/float pairs.
        QCOMPARE(parsed->toCbor().toJsonObject(), query.toMap().toJsonObject());
        const auto again = Query::fromCbor(parsed->toCbor(), &error);
        QVERIFY2(again, qPrintable(error));
        QCOMPARE(*again, *parsed);
    }

    void badQueries_data()
    {
        QTest::addColumn<QCborValue>("query");
        QTest::addColumn<QString>("error");

        QTest::newRow("not a map") << cbor("[1]") << "query: expected a map";
        QTest::newRow("string") << QCborValue("where") << "query: expected a map";
        QTest::newRow("where not a map") << cbor(R"({"where":5})") << "where: expected a map";
        QTest::newRow("where unknown operator")
            << cbor(R"({"where":{"age":{"$in":[1,2]}}})") << "where.age: unknown operator '$in'";
        QTest::newRow("where mixes operators and fields")
            << cbor(R"({"where":{"age":{"$gt":1,"max":2}}})")
            << "where.age: cannot mix $operators and fields";
        QTest::newRow("where empty attribute")
            << cbor(R"({"where":{"":1}})") << "where: keys must be attribute names";
        QTest::newRow("predicate not a map")
            << cbor(R"({"predicate":"eq"})") << "predicate: expected a map";
        QTest::newRow("missing op")
            << cbor(R"({"predicate":{"attribute":"a"}})") << "predicate: missing op";
        QTest::newRow("op not a string")
            << cbor(R"({"predicate":{"op":1}})") << "predicate: missing op";
        QTest::newRow("unknown op")
            << cbor(R"({"predicate":{"op":"between"}})") << "predicate: unknown op 'between'";
        QTest::newRow("op case matters")
            << cbor(R"({"predicate":{"op":"EQ"}})") << "predicate: unknown op 'EQ'";
        QTest::newRow("missing attribute") << cbor(R"({"predicate":{"op":"eq","value":1}})")
                                           << "predicate: 'eq' needs an attribute";
        QTest::newRow("empty attribute")
            << cbor(R"({"predicate":{"op":"gt","attribute":"","value":1}})")
            << "predicate: 'gt' needs an attribute";
        QTest::newRow("missing attribute, nested")
            << cbor(R"({"predicate":{"op":"and","children":[
                    {"op":"eq","attribute":"a","value":1},
                    {"op":"or","children":[{"op":"gt","value":1}]}]}})")
            << "predicate.children[1].children[0]: 'gt' needs an attribute";
        QTest::newRow("children not an array")
            << cbor(R"({"predicate":{"op":"and","children":{"op":"eq"}}})")
            << "predicate: children must be an array";
        QTest::newRow("child not a map") << cbor(R"({"predicate":{"op":"or","children":[1]}})")
                                         << "predicate.children[0]: expected a map";
        QTest::newRow("not without a child")
            << cbor(R"({"predicate":{"op":"not"}})") << "predicate: 'not' needs exactly one child";
        QTest::newRow("not with two children") << cbor(R"({"predicate":{"op":"not","children":[
                    {"op":"eq","attribute":"a","value":1},{"op":"eq","attribute":"b","value":1}]}})")
                                               << "predicate: 'not' needs exactly one child";
        QTest::newRow("bad regex")
            // Not a raw string: moc 6.4 gives up on a raw string holding "(abc".
            << cbor("{\"predicate\":{\"op\":\"regex\",\"attribute\":\"a\",\"value\":\"(abc\"}}")
            << QStringLiteral("predicate: bad regex pattern '(abc': missing ): (abc");
        QTest::newRow("regex backreference")
            << cbor("{\"predicate\":{\"op\":\"regex\",\"attribute\":\"a\",\"value\":\"(a)\\\\1\"}}")
            << QStringLiteral(
                   "predicate: bad regex pattern '(a)\\1': invalid escape sequence: \\1");
        QTest::newRow("regex not a string")
            << cbor(R"({"predicate":{"op":"regex","attribute":"a","value":1}})")
            << "predicate: 'regex' needs a string value";
        QTest::newRow("like not a string") << cbor(R"({"predicate":{"op":"like","attribute":"a"}})")
                                           << "predicate: 'like' needs a string value";
        QTest::newRow("contains not a string")
            << cbor(R"({"predicate":{"op":"contains","attribute":"a","value":["x"]}})")
            << "predicate: 'contains' needs a string value";
        QTest::newRow("containsAll not strings")
            << cbor(R"({"predicate":{"op":"containsAll","attribute":"a","value":["x",1]}})")
            << "predicate: 'containsAll' needs an array of strings";
        QTest::newRow("sort not a map") << cbor(R"({"sort":["a"]})") << "sort: expected a map";
        QTest::newRow("bad sort direction")
            << cbor(R"({"sort":{"name":"up"}})") << "sort.name: expected 'asc' or 'desc'";
        QTest::newRow("sort direction case matters")
            << cbor(R"({"sort":{"name":"ASC"}})") << "sort.name: expected 'asc' or 'desc'";
        QTest::newRow("negative limit")
            << withLimit(QCborValue(-1)) << "limit: must not be negative";
        QTest::newRow("negative float limit")
            << withLimit(QCborValue(-1.0)) << "limit: must not be negative";
        QTest::newRow("NaN limit")
            << withLimit(QCborValue(qQNaN())) << "limit: must not be negative";
        QTest::newRow("fractional limit")
            << withLimit(QCborValue(2.5)) << "limit: must be a whole number";
        QTest::newRow("infinite limit")
            << withLimit(QCborValue(qInf())) << "limit: must be a whole number";
        QTest::newRow("string limit") << withLimit(QCborValue("10")) << "limit: expected a number";
        QTest::newRow("cursor not a string")
            << cbor(R"({"cursor":5})") << "cursor: expected a string";
    }

    void badQueries()
    {
        QFETCH(QCborValue, query);
        QFETCH(QString, error);
        QString actual;
        QVERIFY(!Query::fromCbor(query, &actual));
        QCOMPARE(actual, error);
    }

    void deepNestingIsRefused()
    {
        QCborMap predicate { { QStringLiteral("op"), QStringLiteral("eq") },
            { QStringLiteral("attribute"), QStringLiteral("a") } };
        for (int i = 0; i < 100; ++i) {
            predicate = QCborMap { { QStringLiteral("op"), QStringLiteral("not") },
                { QStringLiteral("children"), QCborArray { predicate } } };
        }
        QCborMap query;
        query.insert(QStringLiteral("predicate"), predicate);
        QString error;
        QVERIFY(!Query::fromCbor(query, &error));
        QVERIFY2(error.endsWith(QStringLiteral(": nested too deeply")), qPrintable(error));
    }

    void patternsAreCompiledWhenParsed()
    {
        QString error;
        const auto query = Query::fromCbor(
            cbor(R"({"predicate":{"op":"like","attribute":"a","value":"a.b%"}})"), &error);
        QVERIFY2(query, qPrintable(error));
        const Predicate &like = query->condition();
        QVERIFY(like.hasValidPattern());
        QVERIFY(like.patternError().isEmpty());
        QVERIFY(like.patternMatches(QStringLiteral("A.Bcd")));
        QVERIFY(like.patternMatches(QStringLiteral("a.b\nmore")));
        QVERIFY(!like.patternMatches(QStringLiteral("axbcd")));
        QVERIFY(!like.patternMatches(QStringLiteral("xa.b")));
    }

    void aRegexIsASearch()
    {
        const Predicate regex
            = Predicate::leaf(Predicate::Op::Regex, QStringLiteral("a"), QStringLiteral("b+c"));
        QVERIFY(regex.hasValidPattern());
        QVERIFY(regex.patternMatches(QStringLiteral("abbbcd")));
        QVERIFY(!regex.patternMatches(QStringLiteral("ac")));
    }

    void aLeafWithABadPatternNeverMatches()
    {
        const Predicate regex
            = Predicate::leaf(Predicate::Op::Regex, QStringLiteral("a"), QStringLiteral("(a)\\1"));
        QVERIFY(!regex.hasValidPattern());
        QVERIFY(!regex.patternError().isEmpty());
        QVERIFY(!regex.patternMatches(QStringLiteral("aa")));
        const Predicate eq = Predicate::leaf(Predicate::Op::Eq, QStringLiteral("a"), 1);
        QVERIFY(!eq.hasValidPattern());
        QVERIFY(eq.patternError().isEmpty());
    }
};

QTEST_GUILESS_MAIN(tst_Query)
#include "tst_query.moc"

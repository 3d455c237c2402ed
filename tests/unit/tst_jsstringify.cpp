#include "crdt/JsStringify.h"

#include <QCborArray>
#include <QCborMap>
#include <QTest>

#include <cmath>
#include <limits>

using namespace wingman::crdt;

namespace {

QCborMap object(std::initializer_list<std::pair<QString, QCborValue>> entries)
{
    QCborMap map;
    for (const auto &[key, value] : entries)
        map.insert(key, value);
    return map;
}

} // namespace

// Every expected string below is what Node.js 20 prints for the same value: String(n) for
// numbers, JSON.stringify(v, Object.keys(v).sort()) for objects and arrays.
class tst_JsStringify : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void numbers_data();
    void numbers();
    void scalars_data();
    void scalars();
    void objects_data();
    void objects();
    void byteArraysAreUint8Arrays();
    void jsonEscaping_data();
    void jsonEscaping();
};

void tst_JsStringify::numbers_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<QString>("expected");

    QTest::newRow("zero") << 0.0 << "0";
    QTest::newRow("negative zero") << -0.0 << "0";
    QTest::newRow("integer") << 5.0 << "5";
    QTest::newRow("negative integer") << -5.0 << "-5";
    QTest::newRow("0.1") << 0.1 << "0.1";
    QTest::newRow("1e21") << 1e21 << "1e+21";
    QTest::newRow("1e20") << 1e20 << "100000000000000000000";
    QTest::newRow("21 digits") << 123456789012345680000.0 << "123456789012345680000";
    QTest::newRow("just below 1e21") << 999999999999999900000.0 << "999999999999999900000";
    QTest::newRow("-1.5e21") << -1.5e21 << "-1.5e+21";
    QTest::newRow("1e-7") << 1e-7 << "1e-7";
    QTest::newRow("-1e-7") << -1e-7 << "-1e-7";
    QTest::newRow("1.5e-7") << 1.5e-7 << "1.5e-7";
    QTest::newRow("1e-6") << 0.000001 << "0.000001";
    QTest::newRow("1.2345e-6") << 1.2345e-6 << "0.0000012345";
    QTest::newRow("0.00001") << 0.00001 << "0.00001";
    QTest::newRow("1.7e-10") << 1.7e-10 << "1.7e-10";
    QTest::newRow("2.5") << 2.5 << "2.5";
    QTest::newRow("one third") << 1.0 / 3.0 << "0.3333333333333333";
    QTest::newRow("0.1 + 0.2") << 0.1 + 0.2 << "0.30000000000000004";
    QTest::newRow("4.35") << 4.35 << "4.35";
    QTest::newRow("12345.6789") << 12345.6789 << "12345.6789";
    QTest::newRow("100") << 100.0 << "100";
    QTest::newRow("1.23e-18") << 123e-20 << "1.23e-18";
    QTest::newRow("2^53") << 9007199254740992.0 << "9007199254740992";
    QTest::newRow("2^64") << 18446744073709551616.0 << "18446744073709552000";
    QTest::newRow("-2^31") << -2147483648.0 << "-2147483648";
    QTest::newRow("1e100") << 1e100 << "1e+100";
    QTest::newRow("denormal min") << 5e-324 << "5e-324";
    QTest::newRow("max") << std::numeric_limits<double>::max() << "1.7976931348623157e+308";
    QTest::newRow("NaN") << std::numeric_limits<double>::quiet_NaN() << "NaN";
    QTest::newRow("Infinity") << std::numeric_limits<double>::infinity() << "Infinity";
    QTest::newRow("-Infinity") << -std::numeric_limits<double>::infinity() << "-Infinity";
}

void tst_JsStringify::numbers()
{
    QFETCH(double, value);
    QFETCH(QString, expected);
    QCOMPARE(JsStringify::number(value), expected);
    QCOMPARE(JsStringify::stringify(QCborValue(value)), expected);
}

void tst_JsStringify::scalars_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<QString>("expected");

    QTest::newRow("nil") << QCborValue(QCborValue::Null) << "null";
    QTest::newRow("undefined") << QCborValue(QCborValue::Undefined) << "undefined";
    QTest::newRow("string as is") << QCborValue(QStringLiteral("he said \"hi\"\n"))
                                  << "he said \"hi\"\n";
    QTest::newRow("empty string") << QCborValue(QString()) << "";
    QTest::newRow("integer") << QCborValue(5) << "5";
    QTest::newRow("negative integer") << QCborValue(-42) << "-42";
    QTest::newRow("integral double") << QCborValue(5.0) << "5";
    QTest::newRow("true") << QCborValue(true) << "true";
    QTest::newRow("false") << QCborValue(false) << "false";
    // Past 2^53 the client holds a BigInt, which prints exactly.
    QTest::newRow("int64 max") << QCborValue(std::numeric_limits<qint64>::max())
                               << "9223372036854775807";
    QTest::newRow("uint64 bignum")
        << QCborValue(QCborKnownTags::PositiveBignum, QByteArray::fromHex("ffffffffffffffff"))
        << "18446744073709551615";
    QTest::newRow("negative bignum")
        << QCborValue(QCborKnownTags::NegativeBignum, QByteArray::fromHex("ffffffffffffffff"))
        << "-18446744073709551616";
}

void tst_JsStringify::scalars()
{
    QFETCH(QCborValue, value);
    QFETCH(QString, expected);
    QCOMPARE(JsStringify::stringify(value), expected);
}

void tst_JsStringify::objects_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<QString>("expected");

    QTest::newRow("keys sorted") << QCborValue(object({ { "b", 2 }, { "a", 1 } }))
                                 << R"({"a":1,"b":2})";
    QTest::newRow("nested map filtered by top-level keys") << QCborValue(object(
        { { "b", object({ { "z", 1 }, { "a", 2 } }) }, { "a", QCborArray { 1, 2.5, "x" } } }))
                                                           << R"({"a":[1,2.5,"x"],"b":{"a":2}})";
    QTest::newRow("nested map with no whitelisted key")
        << QCborValue(object({ { "x", object({ { "y", 1 } }) } })) << R"({"x":{}})";
    QTest::newRow("whitelist at every depth")
        << QCborValue(object(
               { { "a", QCborArray { object({ { "a", 1 }, { "b", 2 } }), object({ { "c", 3 } }) } },
                   { "c",
                       object({ { "a",
                           object({ { "a", object({ { "c", 1 }, { "z", 2 } }) } }) } }) } }))
        << R"({"a":[{"a":1},{"c":3}],"c":{"a":{"a":{"c":1}}}})";
    QTest::newRow("top-level array whitelists indexes")
        << QCborValue(QCborArray { object({ { "a", 1 } }) }) << "[{}]";
    QTest::newRow("index keys survive")
        << QCborValue(QCborArray { object({ { "0", 1 }, { "a", 2 } }) }) << R"([{"0":1}])";
    QTest::newRow("index whitelist sorted as strings")
        << QCborValue(QCborArray { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
               object({ { "10", "ten" }, { "2", "two" }, { "a", 1 } }) })
        << R"([0,1,2,3,4,5,6,7,8,9,10,{"10":"ten","2":"two"}])";
    QTest::newRow("nested arrays keep all elements")
        << QCborValue(QCborArray { 1, QCborArray { 2, object({ { "0", "x" }, { "1", "y" } }) } })
        << R"([1,[2,{"0":"x","1":"y"}]])";
    QTest::newRow("code unit order")
        << QCborValue(object({ { "b", 1 }, { "B", 2 }, { "a", 3 } })) << R"({"B":2,"a":3,"b":1})";
    QTest::newRow("non-finite numbers are null, undefined dropped in maps") << QCborValue(
        object({ { "a", std::nan("") },
            { "b",
                QCborArray { QCborValue(QCborValue::Undefined), std::nan(""),
                    std::numeric_limits<double>::infinity() } },
            { "c", QCborValue(QCborValue::Undefined) } })) << R"({"a":null,"b":[null,null,null]})";
    QTest::newRow("scalars inside")
        << QCborValue(object({ { "n", QCborValue(QCborValue::Null) }, { "t", true }, { "f", false },
               { "neg", -0.0 }, { "big", 1e21 }, { "small", 1e-7 } }))
        << R"({"big":1e+21,"f":false,"n":null,"neg":0,"small":1e-7,"t":true})";
    QTest::newRow("integer keys become names") << QCborValue([] {
        QCborMap map;
        map.insert(1, "x");
        map.insert(QStringLiteral("a"), object({ { "1", true }, { "2", false } }));
        return map;
    }()) << R"({"1":"x","a":{"1":true}})";
    // {"a": 1, "a": 2} as CBOR: a JavaScript object keeps the last assignment.
    QTest::newRow("duplicate keys: last wins")
        << QCborValue::fromCbor(QByteArray::fromHex("a2616101616102")) << R"({"a":2})";
    QTest::newRow("empty map") << QCborValue(QCborMap()) << "{}";
    QTest::newRow("empty array") << QCborValue(QCborArray()) << "[]";
    QTest::newRow("or-map ttl vector value")
        << QCborValue(object({ { "data", "orValue" } })) << R"({"data":"orValue"})";
    QTest::newRow("unicode kept") << QCborValue(QCborArray { QString::fromUtf8("日本") })
                                  << QString::fromUtf8(R"(["日本"])");
}

void tst_JsStringify::objects()
{
    QFETCH(QCborValue, value);
    QFETCH(QString, expected);
    QCOMPARE(JsStringify::stringify(value), expected);
}

void tst_JsStringify::byteArraysAreUint8Arrays()
{
    QCOMPARE(JsStringify::stringify(QByteArray("\x01\x02", 2)), QStringLiteral(R"({"0":1,"1":2})"));
    QByteArray twelve;
    for (int i = 0; i < 12; ++i)
        twelve.append(char(i * 10));
    QCOMPARE(JsStringify::stringify(twelve),
        QStringLiteral(R"({"0":0,"1":10,"10":100,"11":110,"2":20,"3":30,"4":40,"5":50,)"
                       R"("6":60,"7":70,"8":80,"9":90})"));
    QCborMap map;
    map.insert(QStringLiteral("a"), QByteArray("\x05\x06", 2));
    map.insert(QStringLiteral("0"), 1);
    QCOMPARE(JsStringify::stringify(map), QStringLiteral(R"({"0":1,"a":{"0":5}})"));
}

void tst_JsStringify::jsonEscaping_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");

    QTest::newRow("quote and backslash") << R"(a"b\c)"
                                         << R"("a\"b\\c")";
    QTest::newRow("short escapes") << "\b\f\n\r\t"
                                   << R"("\b\f\n\r\t")";
    QTest::newRow("control characters lower-case hex")
        << QString::fromLatin1("\x01\x1f", 2) << R"("\u0001\u001f")";
    QTest::newRow("kept as is") << QString::fromUtf8("\x7f\u2028/é😀")
                                << QString::fromUtf8("\"\x7f\u2028/é😀\"");
    QTest::newRow("lone surrogates escaped")
        << (QString(QChar(0xd800)) + u'x' + QChar(0xdc00)) << R"("\ud800x\udc00")";
}

void tst_JsStringify::jsonEscaping()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    QString out;
    JsStringify::appendJsonString(out, text);
    QCOMPARE(out, expected);
    // Inside a value the same quoting applies to keys and strings.
    QCOMPARE(JsStringify::stringify(object({ { text, text } })),
        u'{' + expected + u':' + expected + u'}');
}

QTEST_APPLESS_MAIN(tst_JsStringify)
#include "tst_jsstringify.moc"

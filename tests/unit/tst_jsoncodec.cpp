#include "protocol/JsonCodec.h"

#include <QCborArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QTest>

using namespace wingman::protocol;
using namespace Qt::StringLiterals;

class TestJsonCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void decode_data();
    void decode();
    void malformedFailsQuickly_data();
    void malformedFailsQuickly();
    void limits();
    void encode_data();
    void encode();
    void roundTrip_data();
    void roundTrip();
};

// Qt's JSON objects keep their keys sorted, so expected maps list keys in sorted order.
void TestJsonCodec::decode_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QCborValue>("value");

    QTest::newRow("ping") << QByteArray(R"({"type":"PING","timestamp":1700000000000})")
                          << QCborValue(QCborMap {
                                 { "timestamp"_L1, 1700000000000LL }, { "type"_L1, "PING"_L1 } });
    QTest::newRow("integral number is integer")
        << QByteArray("[5]") << QCborValue(QCborArray { 5 });
    QTest::newRow("integral float text is integer")
        << QByteArray("[5.0, 1e3]") << QCborValue(QCborArray { 5, 1000 });
    QTest::newRow("negative integer") << QByteArray("[-7]") << QCborValue(QCborArray { -7 });
    QTest::newRow("fraction is double") << QByteArray("[2.5]") << QCborValue(QCborArray { 2.5 });
    QTest::newRow("beyond int64 is double") << QByteArray("[12345678901234567890]")
                                            << QCborValue(QCborArray { 12345678901234567890.0 });
    QTest::newRow("literals") << QByteArray("[null, true, false]")
                              << QCborValue(QCborArray { nullptr, true, false });
    QTest::newRow("unicode escapes")
        << QByteArray(R"(["h\u00e9llo \ud83d\ude00"])") << QCborValue(QCborArray { u"héllo 😀"_s });
    QTest::newRow("raw utf-8") << QByteArray("[\"日本\"]") << QCborValue(QCborArray { u"日本"_s });
    QTest::newRow("nested") << QByteArray(R"({"payload":{"ops":[{"key":"k"}]}})")
                            << QCborValue(QCborMap { { "payload"_L1,
                                   QCborMap { { "ops"_L1,
                                       QCborArray { QCborMap { { "key"_L1, "k"_L1 } } } } } } });
    QTest::newRow("whitespace around")
        << QByteArray(" \n{\"a\":1}\t ") << QCborValue(QCborMap { { "a"_L1, 1 } });
    QTest::newRow("top-level number") << QByteArray("42") << QCborValue(42);
    QTest::newRow("top-level string") << QByteArray(R"("x")") << QCborValue("x"_L1);
    QTest::newRow("top-level null") << QByteArray("null") << QCborValue(nullptr);
}

void TestJsonCodec::decode()
{
    QFETCH(QByteArray, json);
    QFETCH(QCborValue, value);
    const DecodeResult decoded = JsonCodec::decode(json);
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    QCOMPARE(decoded.value, value);
    QCOMPARE(decoded.value.type(), value.type());
}

void TestJsonCodec::malformedFailsQuickly_data()
{
    QTest::addColumn<QByteArray>("json");

    QTest::newRow("empty") << QByteArray();
    QTest::newRow("whitespace") << QByteArray("  ");
    QTest::newRow("unterminated object") << QByteArray(R"({"a":1)");
    QTest::newRow("missing value") << QByteArray(R"({"a":})");
    QTest::newRow("trailing garbage") << QByteArray(R"({"a":1} x)");
    QTest::newRow("two top-level values") << QByteArray("1,2");
    QTest::newRow("bare word") << QByteArray("hello");
    QTest::newRow("bad utf-8") << QByteArray("[\"\xff\xfe\"]");
    QTest::newRow("binary") << QByteArray::fromHex("81a474797065a450494e47");
    QTest::newRow("depth bomb") << QByteArray(100000, '[');
    QTest::newRow("deep but closed") << QByteArray(2000, '[') + QByteArray(2000, ']');
}

void TestJsonCodec::malformedFailsQuickly()
{
    QFETCH(QByteArray, json);
    QElapsedTimer timer;
    timer.start();
    const DecodeResult decoded = JsonCodec::decode(json);
    QVERIFY(timer.elapsed() < 2000);
    QVERIFY(!decoded.ok);
    QVERIFY(!decoded.error.reason.isEmpty());
}

void TestJsonCodec::limits()
{
    QVERIFY(JsonCodec::decode(QByteArray(64, '[') + QByteArray(64, ']')).ok);
    const DecodeResult deep = JsonCodec::decode(QByteArray(65, '[') + QByteArray(65, ']'));
    QVERIFY(!deep.ok);
    QVERIFY2(deep.error.reason.contains("nesting"_L1), qPrintable(deep.error.reason));

    DecodeLimits small;
    small.maxElements = 3;
    QVERIFY(JsonCodec::decode(R"({"a":[1,2]})", small).ok);
    QVERIFY(!JsonCodec::decode(R"({"a":[1,2,3]})", small).ok);

    small = {};
    small.maxBytes = 5;
    QVERIFY(JsonCodec::decode("[123]", small).ok);
    QVERIFY(!JsonCodec::decode("[1234]", small).ok);
}

void TestJsonCodec::encode_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<QByteArray>("json");

    QTest::newRow("map") << QCborValue(
        QCborMap { { "type"_L1, "PONG"_L1 }, { "serverTime"_L1, 5 } })
                         << QByteArray(R"({"serverTime":5,"type":"PONG"})");
    QTest::newRow("array") << QCborValue(QCborArray { 1, 2.5, nullptr, true })
                           << QByteArray("[1,2.5,null,true]");
    QTest::newRow("number") << QCborValue(1700000000000LL) << QByteArray("1700000000000");
    QTest::newRow("string") << QCborValue(u"é\"x"_s) << QByteArray("\"é\\\"x\"");
    QTest::newRow("bytes as base64url")
        << QCborValue(QByteArray::fromHex("fbff")) << QByteArray("\"-_8\"");
    QTest::newRow("undefined as null") << QCborValue(QCborValue::Undefined) << QByteArray("null");
    QTest::newRow("non-string key")
        << QCborValue(QCborMap { { 1, "x"_L1 } }) << QByteArray(R"({"1":"x"})");
}

void TestJsonCodec::encode()
{
    QFETCH(QCborValue, value);
    QFETCH(QByteArray, json);
    QCOMPARE(JsonCodec::encode(value), json);
}

void TestJsonCodec::roundTrip_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::newRow("message") << QCborValue(
        QCborMap { { "payload"_L1,
                       QCborMap { { "ops"_L1,
                           QCborArray { QCborMap { { "f"_L1, 0.25 }, { "key"_L1, "k"_L1 },
                               { "n"_L1, -3 }, { "v"_L1, nullptr } } } } } },
            { "type"_L1, "OP_BATCH"_L1 } });
    QTest::newRow("scalar") << QCborValue(u"text"_s);
    QTest::newRow("empty array") << QCborValue(QCborArray());
}

void TestJsonCodec::roundTrip()
{
    QFETCH(QCborValue, value);
    const DecodeResult decoded = JsonCodec::decode(JsonCodec::encode(value));
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    QCOMPARE(decoded.value, value);
}

QTEST_APPLESS_MAIN(TestJsonCodec)

#include "tst_jsoncodec.moc"

#include "crdt/Value.h"
#include "protocol/Wire.h"

#include <QCborArray>
#include <QCborMap>
#include <QDateTime>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTest>
#include <QUrl>

#include <limits>

using namespace wingman::protocol;
using namespace wingman::wire;
using namespace Qt::StringLiterals;

namespace {

constexpr qint64 kQuickMs = 2000; // generous for a loaded CI box; hostile input must not cost more

QByteArray hex(const char *text)
{
    return QByteArray::fromHex(text);
}

QCborValue ext(qint8 type, const QByteArray &payload)
{
    return QCborValue(QCborTag(quint64(qint64(MsgPackCodec::kExtTagBase) + type)), payload);
}

QCborValue uint64Max()
{
    return QCborValue(QCborKnownTags::PositiveBignum, QByteArray(8, '\xff'));
}

QByteArray str(qsizetype size)
{
    QByteArray s(size, 'x');
    for (qsizetype i = 0; i < size; ++i)
        s[i] = char('a' + i % 26);
    return s;
}

QCborMap sampleMessage()
{
    QCborMap timestamp;
    timestamp.insert("millis"_L1, 1700000000000.0);
    timestamp.insert("counter"_L1, 3);
    timestamp.insert("nodeId"_L1, "client-x"_L1);
    QCborMap record;
    record.insert("value"_L1, QCborMap { { "title"_L1, "hello"_L1 }, { "done"_L1, false } });
    record.insert("timestamp"_L1, timestamp);
    QCborMap op;
    op.insert("id"_L1, "12"_L1);
    op.insert("mapName"_L1, "todos"_L1);
    op.insert("key"_L1, "todo:1"_L1);
    op.insert("record"_L1, record);
    QCborMap payload;
    payload.insert("ops"_L1, QCborArray { op });
    QCborMap message;
    message.insert("type"_L1, "OP_BATCH"_L1);
    message.insert("payload"_L1, payload);
    return message;
}

} // namespace

class TestMsgPackCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrip_data();
    void roundTrip();
    void encodesLikeMsgpackr_data();
    void encodesLikeMsgpackr();
    void decodesClientShapes_data();
    void decodesClientShapes();
    void undefinedFieldsAreDropped();
    void largeMapIsLinear();
    void largeMapKeepsLastValueAndDropsUndefined();
    void hugeDeclaredLengthIsRefusedUpFront_data();
    void hugeDeclaredLengthIsRefusedUpFront();
    void depthLimitIsExact();
    void elementAndByteLimits();
    void malformedInputFailsQuickly_data();
    void malformedInputFailsQuickly();
    void everyTruncationFails();
    void randomInputNeverEscapes();
    void packedValuesBehaveAsTheirTree();
    void packedUndefinedInEveryEncoding_data();
    void packedUndefinedInEveryEncoding();
    void encodesOtherCborTypes_data();
    void encodesOtherCborTypes();
};

void TestMsgPackCodec::roundTrip_data()
{
    QTest::addColumn<QCborValue>("value");

    QTest::newRow("nil") << QCborValue(nullptr);
    QTest::newRow("true") << QCborValue(true);
    QTest::newRow("false") << QCborValue(false);
    QTest::newRow("undefined") << QCborValue(QCborValue::Undefined);
    for (qint64 v : { 0LL, 1LL, 127LL, 128LL, 255LL, 256LL, 65535LL, 65536LL, 4294967295LL, -1LL,
             -32LL, -33LL, -128LL, -129LL, -32768LL, -32769LL, -2147483648LL }) {
        QTest::addRow("int %lld", v) << QCborValue(v);
    }
    QTest::newRow("int 2^60 (uint64)") << QCborValue(qint64(1) << 60);
    QTest::newRow("int -2^60 (int64)") << QCborValue(-(qint64(1) << 60));
    QTest::newRow("int64 max") << QCborValue(std::numeric_limits<qint64>::max());
    QTest::newRow("int64 min") << QCborValue(std::numeric_limits<qint64>::min());
    QTest::newRow("uint64 max") << uint64Max();
    QTest::newRow("double 2.5") << QCborValue(2.5);
    QTest::newRow("double -0.1") << QCborValue(-0.1);
    QTest::newRow("double whole") << QCborValue(3.0);
    QTest::newRow("double huge") << QCborValue(1e300);
    QTest::newRow("str empty") << QCborValue(QString());
    QTest::newRow("fixstr 31") << QCborValue(QString::fromLatin1(str(31)));
    QTest::newRow("str8 32") << QCborValue(QString::fromLatin1(str(32)));
    QTest::newRow("str8 255") << QCborValue(QString::fromLatin1(str(255)));
    QTest::newRow("str16 256") << QCborValue(QString::fromLatin1(str(256)));
    QTest::newRow("str32 65536") << QCborValue(QString::fromLatin1(str(65536)));
    QTest::newRow("str non-ascii") << QCborValue(u"héllo 日本 😀"_s);
    QTest::newRow("bin empty") << QCborValue(QByteArray(""));
    QTest::newRow("bin8") << QCborValue(hex("00ff10"));
    QTest::newRow("bin16") << QCborValue(str(300));
    QTest::newRow("bin32") << QCborValue(str(70000));
    QTest::newRow("array empty") << QCborValue(QCborArray());
    QTest::newRow("array mixed") << QCborValue(
        QCborArray { 1, "a"_L1, nullptr, 2.5, QCborArray { true }, QCborMap {} });
    QTest::newRow("array with undefined")
        << QCborValue(QCborArray { 1, QCborValue(QCborValue::Undefined), 2 });
    QTest::newRow("array16") << QCborValue(QCborArray::fromStringList(QStringList(20, "x"_L1)));
    QTest::newRow("map empty") << QCborValue(QCborMap());
    QTest::newRow("map string keys") << QCborValue(QCborMap { { "a"_L1, 1 }, { "é"_L1, "x"_L1 } });
    QTest::newRow("map non-string keys") << QCborValue(QCborMap { { 1, "one"_L1 }, { -5, 2 },
        { QCborValue(nullptr), 3 }, { QCborArray { 1, 2 }, 4 }, { QCborMap { { "k"_L1, 1 } }, 5 },
        { hex("0102"), 6 }, { 2.5, 7 }, { true, 8 } });
    QTest::newRow("nested maps") << QCborValue(QCborMap {
        { "a"_L1, QCborMap { { "b"_L1, QCborMap { { "c"_L1, QCborArray { 1, 2 } } } } } } });
    QCborMap large;
    for (int i = 0; i < 100; ++i)
        large.insert(QStringLiteral("key-%1").arg(i), i);
    large.insert(7, "int key"_L1);
    QTest::newRow("map16 large") << QCborValue(large);
    QTest::newRow("fixext1") << ext(5, hex("01"));
    QTest::newRow("fixext2") << ext(5, hex("0102"));
    QTest::newRow("fixext4") << ext(-1, hex("01020304"));
    QTest::newRow("fixext8") << ext(-1, hex("0102030405060708"));
    QTest::newRow("fixext16") << ext(127, QByteArray(16, 'e'));
    QTest::newRow("ext8 3 bytes") << ext(-128, hex("010203"));
    QTest::newRow("ext8 empty") << ext(9, QByteArray(""));
    QTest::newRow("ext16") << ext(42, QByteArray(300, 'e'));
    QTest::newRow("message") << QCborValue(sampleMessage());
}

void TestMsgPackCodec::roundTrip()
{
    QFETCH(QCborValue, value);
    const QByteArray encoded = MsgPackCodec::encode(value);
    const DecodeResult decoded = MsgPackCodec::decode(encoded);
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    QCOMPARE(decoded.value, value);
    QCOMPARE(decoded.value.type(), value.type());
    QCOMPARE(MsgPackCodec::valueSize(encoded), encoded.size());
    QCOMPARE(MsgPackCodec::valueSize(encoded + hex("c0")), encoded.size());
}

void TestMsgPackCodec::encodesLikeMsgpackr_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("5 fixint") << QCborValue(5) << hex("05");
    QTest::newRow("127 fixint") << QCborValue(127) << hex("7f");
    QTest::newRow("128 uint8") << QCborValue(128) << hex("cc80");
    QTest::newRow("256 uint16") << QCborValue(256) << hex("cd0100");
    QTest::newRow("70000 uint32") << QCborValue(70000) << hex("ce00011170");
    QTest::newRow("uint32 max") << QCborValue(4294967295LL) << hex("ceffffffff");
    QTest::newRow("-1 fixint") << QCborValue(-1) << hex("ff");
    QTest::newRow("-32 fixint") << QCborValue(-32) << hex("e0");
    QTest::newRow("-33 int8") << QCborValue(-33) << hex("d0df");
    QTest::newRow("-129 int16") << QCborValue(-129) << hex("d1ff7f");
    QTest::newRow("-32769 int32") << QCborValue(-32769) << hex("d2ffff7fff");
    QTest::newRow("int32 min") << QCborValue(-2147483648LL) << hex("d280000000");
    QTest::newRow("2^32 float64") << QCborValue(4294967296LL) << hex("cb41f0000000000000");
    QTest::newRow("millis float64") << QCborValue(1700000000000LL) << hex("cb4278bcfe56800000");
    QTest::newRow("int32 min - 1 float64")
        << QCborValue(-2147483649LL) << hex("cbc1e0000000200000");
    QTest::newRow("2^53 float64") << QCborValue(qint64(1) << 53) << hex("cb4340000000000000");
    QTest::newRow("-2^53 float64") << QCborValue(-(qint64(1) << 53)) << hex("cbc340000000000000");
    QTest::newRow("2^53+1 uint64")
        << QCborValue((qint64(1) << 53) + 1) << hex("cf0020000000000001");
    QTest::newRow("-(2^53+1) int64")
        << QCborValue(-(qint64(1) << 53) - 1) << hex("d3ffdfffffffffffff");
    QTest::newRow("uint64 max") << uint64Max() << hex("cfffffffffffffffff");
    QTest::newRow("2.5 float64") << QCborValue(2.5) << hex("cb4004000000000000");
    QTest::newRow("whole double stays float64") << QCborValue(3.0) << hex("cb4008000000000000");
    QTest::newRow("nil") << QCborValue(nullptr) << hex("c0");
    QTest::newRow("true") << QCborValue(true) << hex("c3");
    QTest::newRow("false") << QCborValue(false) << hex("c2");
    QTest::newRow("undefined") << QCborValue(QCborValue::Undefined) << hex("d40000");
    QTest::newRow("empty str") << QCborValue(QString()) << hex("a0");
    QTest::newRow("abc") << QCborValue("abc"_L1) << hex("a3616263");
    QTest::newRow("é utf-8") << QCborValue(u"é"_s) << hex("a2c3a9");
    QTest::newRow("str8") << QCborValue(QString(32, u'a')) << hex("d920") + QByteArray(32, 'a');
    QTest::newRow("bin") << QCborValue(hex("01")) << hex("c40101");
    QTest::newRow("array") << QCborValue(QCborArray { 1, "a"_L1 }) << hex("9201a161");
    QTest::newRow("map") << QCborValue(QCborMap { { "a"_L1, 1 } }) << hex("81a16101");
    QTest::newRow("int key map") << QCborValue(QCborMap { { 1, 2 } }) << hex("810102");
    QTest::newRow("fixext2") << ext(5, "ab") << hex("d5056162");
    QTest::newRow("ext8") << ext(-1, "abc") << hex("c703ff616263");
}

void TestMsgPackCodec::encodesLikeMsgpackr()
{
    QFETCH(QCborValue, value);
    QFETCH(QByteArray, bytes);
    QCOMPARE(MsgPackCodec::encode(value).toHex(), bytes.toHex());
}

void TestMsgPackCodec::decodesClientShapes_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QCborValue>("value");

    // {type:'PING', timestamp: Date.now()} as msgpackr writes it: epoch millis as float64.
    QTest::newRow("ping float64 millis")
        << hex("82a474797065a450494e47a974696d657374616d70cb4278bcfe56800000")
        << QCborValue(QCborMap { { "type"_L1, "PING"_L1 }, { "timestamp"_L1, 1700000000000.0 } });
    QTest::newRow("uint64 millis") << hex("cf0000018bcfe56800") << QCborValue(1700000000000LL);
    QTest::newRow("int64 small") << hex("d30000000000000005") << QCborValue(5);
    QTest::newRow("uint8") << hex("ccff") << QCborValue(255);
    QTest::newRow("uint16") << hex("cdffff") << QCborValue(65535);
    QTest::newRow("uint32") << hex("ceffffffff") << QCborValue(4294967295LL);
    QTest::newRow("int8 positive") << hex("d005") << QCborValue(5);
    QTest::newRow("int8") << hex("d080") << QCborValue(-128);
    QTest::newRow("int16") << hex("d18000") << QCborValue(-32768);
    QTest::newRow("int32") << hex("d280000000") << QCborValue(-2147483648LL);
    QTest::newRow("int64 min") << hex("d38000000000000000")
                               << QCborValue(std::numeric_limits<qint64>::min());
    QTest::newRow("uint64 max") << hex("cfffffffffffffffff") << uint64Max();
    QTest::newRow("float32") << hex("ca40200000") << QCborValue(2.5);
    QTest::newRow("float64 whole") << hex("cb4008000000000000") << QCborValue(3.0);
    QTest::newRow("str8 short") << hex("d9026869") << QCborValue("hi"_L1);
    QTest::newRow("str16 short") << hex("da00026869") << QCborValue("hi"_L1);
    QTest::newRow("str32 short") << hex("db000000026869") << QCborValue("hi"_L1);
    QTest::newRow("str utf-8") << hex("a6e697a5e69cac") << QCborValue(u"日本"_s);
    QTest::newRow("bin16") << hex("c500020102") << QCborValue(hex("0102"));
    QTest::newRow("bin32") << hex("c6000000020102") << QCborValue(hex("0102"));
    QTest::newRow("array16") << hex("dc00020102") << QCborValue(QCborArray { 1, 2 });
    QTest::newRow("array32") << hex("dd000000020102") << QCborValue(QCborArray { 1, 2 });
    QTest::newRow("map16") << hex("de0001a16101") << QCborValue(QCborMap { { "a"_L1, 1 } });
    QTest::newRow("map32") << hex("df00000001a16101") << QCborValue(QCborMap { { "a"_L1, 1 } });
    QTest::newRow("nested maps") << hex("81a16181a16281a16301")
                                 << QCborValue(QCborMap { { "a"_L1,
                                        QCborMap { { "b"_L1, QCborMap { { "c"_L1, 1 } } } } } });
    QTest::newRow("undefined top level") << hex("d40000") << QCborValue(QCborValue::Undefined);
    QTest::newRow("undefined field dropped")
        << hex("82a161d40000a16201") << QCborValue(QCborMap { { "b"_L1, 1 } });
    QTest::newRow("duplicate key last wins")
        << hex("82a16101a16102") << QCborValue(QCborMap { { "a"_L1, 2 } });
    QTest::newRow("non-string keys")
        << hex("8301a178c0029101a161")
        << QCborValue(QCborMap {
               { 1, "x"_L1 }, { QCborValue(nullptr), 2 }, { QCborArray { 1 }, "a"_L1 } });
    QTest::newRow("non-ascii key") << hex("81a2c3a901") << QCborValue(QCborMap { { u"é"_s, 1 } });
    QTest::newRow("unknown ext carried") << hex("d6ff00000001") << ext(-1, hex("00000001"));
}

void TestMsgPackCodec::decodesClientShapes()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QCborValue, value);
    const DecodeResult decoded = MsgPackCodec::decode(bytes);
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    QCOMPARE(decoded.value, value);
    QCOMPARE(decoded.value.type(), value.type());
}

void TestMsgPackCodec::undefinedFieldsAreDropped()
{
    QCborMap map { { "keep"_L1, 1 }, { "gone"_L1, QCborValue(QCborValue::Undefined) },
        { "nested"_L1, QCborMap { { "x"_L1, QCborValue(QCborValue::Undefined) } } } };
    const DecodeResult decoded = MsgPackCodec::decode(MsgPackCodec::encode(map));
    QVERIFY(decoded.ok);
    const QCborMap result = decoded.value.toMap();
    QCOMPARE(result.size(), 2);
    QVERIFY(!result.contains("gone"_L1));
    QCOMPARE(result.value("nested"_L1).toMap().size(), 0);
    QCOMPARE(result.value("keep"_L1), QCborValue(1));
}

void TestMsgPackCodec::largeMapIsLinear()
{
    // 100k distinct keys: QCborMap::insert alone is quadratic here (tens of seconds).
    constexpr quint32 count = 100000;
    QByteArray bytes = hex("df");
    bytes.append(char(0))
        .append(char(count >> 16))
        .append(char((count >> 8) & 0xff))
        .append(char(count & 0xff));
    for (quint32 i = 0; i < count; ++i) {
        bytes.append(char(0xce));
        bytes.append(char(i >> 24))
            .append(char((i >> 16) & 0xff))
            .append(char((i >> 8) & 0xff))
            .append(char(i & 0xff));
        bytes.append(char(1));
    }
    QElapsedTimer timer;
    timer.start();
    const DecodeResult decoded = MsgPackCodec::decode(bytes);
    // Linear takes well under a second even with sanitizers; the bound leaves room for load.
    QVERIFY2(timer.elapsed() < 5 * kQuickMs, qPrintable(QString::number(timer.elapsed())));
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    const QCborMap map = decoded.value.toMap();
    QCOMPARE(map.size(), qsizetype(count));
    QCOMPARE(map.value(98765), QCborValue(1));
    QCOMPARE(map.begin().key(), QCborValue(0));
}

void TestMsgPackCodec::largeMapKeepsLastValueAndDropsUndefined()
{
    // 40 entries (past the direct-insert threshold) with a duplicate and an undefined value.
    QByteArray bytes = hex("de0028");
    for (int i = 0; i < 38; ++i)
        bytes.append(char(i)).append(char(i));
    bytes.append(hex("05ff")); // key 5 again: value -1 wins, position of the first 5 kept
    bytes.append(hex("07d40000")); // key 7 -> undefined: ignored, earlier value stays
    const DecodeResult decoded = MsgPackCodec::decode(bytes);
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    const QCborMap map = decoded.value.toMap();
    QCOMPARE(map.size(), 38);
    QCOMPARE(map.value(5), QCborValue(-1));
    QCOMPARE(map.value(7), QCborValue(7));
    QCOMPARE((map.begin() + 5).key(), QCborValue(5));
    QCOMPARE(map.value(37), QCborValue(37));
}

void TestMsgPackCodec::hugeDeclaredLengthIsRefusedUpFront_data()
{
    QTest::addColumn<QByteArray>("bytes");
    // Counts within the element limit but beyond what the input can hold.
    QTest::newRow("map32 500k entries") << hex("df0007a12000010203");
    QTest::newRow("array32 900k elements") << hex("dd000dbba0000102");
    QTest::newRow("nested map16") << hex("91de7fff00");
}

void TestMsgPackCodec::hugeDeclaredLengthIsRefusedUpFront()
{
    QFETCH(QByteArray, bytes);
    const DecodeResult decoded = MsgPackCodec::decode(bytes);
    QVERIFY(!decoded.ok);
    QVERIFY2(decoded.error.reason.contains("declared length"_L1), qPrintable(decoded.error.reason));
}

void TestMsgPackCodec::packedValuesBehaveAsTheirTree()
{
    const QCborValue tree = sampleMessage();
    const wingman::crdt::Value packed
        = wingman::crdt::Value::fromPacked(MsgPackCodec::encode(tree));
    const wingman::crdt::Value unpacked = tree;
    QVERIFY(packed.isPacked());
    QVERIFY(!unpacked.isPacked());
    QCOMPARE(packed.toCbor(), tree);
    QCOMPARE(unpacked.packed(), MsgPackCodec::encode(tree));
    QVERIFY(packed == unpacked);
    QVERIFY(unpacked == packed);
    QVERIFY(!(packed == wingman::crdt::Value(QCborValue(1))));
    QVERIFY(!packed.isNullish());

    // Another encoding of the same value (uint16 for 5) is still the same value.
    QVERIFY(wingman::crdt::Value::fromPacked(hex("cd0005"))
        == wingman::crdt::Value::fromPacked(hex("05")));
    QVERIFY(!(wingman::crdt::Value::fromPacked(hex("cd0005"))
        == wingman::crdt::Value::fromPacked(hex("06"))));

    const wingman::crdt::Value nil = wingman::crdt::Value::fromPacked(hex("c0"));
    QVERIFY(nil.isNull());
    QVERIFY(nil.isNullish());
    QVERIFY(!nil.isUndefined());
    QVERIFY(nil == wingman::crdt::Value(QCborValue(nullptr)));
    QVERIFY(wingman::crdt::Value().isUndefined());
    const wingman::crdt::Value undefined
        = wingman::crdt::Value::fromPacked(MsgPackCodec::encode(QCborValue()));
    QVERIFY(undefined.isUndefined());
    QVERIFY(undefined.isNullish());
    QVERIFY(!undefined.isNull());
    QVERIFY(undefined.toCbor().isUndefined());
    QVERIFY(wingman::crdt::Value().isNullish());
}

void TestMsgPackCodec::packedUndefinedInEveryEncoding_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("undefined");

    QTest::newRow("fixext1 type 0") << hex("d40000") << true;
    QTest::newRow("fixext1 type 0, other data byte") << hex("d40005") << true;
    QTest::newRow("ext8 length 1 type 0") << hex("c7010000") << true;
    QTest::newRow("ext16 length 1 type 0") << hex("c800010000") << true;
    QTest::newRow("ext32 length 1 type 0") << hex("c9000000010000") << true;
    QTest::newRow("fixext1 type 1") << hex("d40100") << false;
    QTest::newRow("fixext2 type 0") << hex("d5000000") << false;
    QTest::newRow("ext8 length 2 type 0") << hex("c702000000") << false;
    QTest::newRow("ext8 length 0 type 0") << hex("c70000") << false;
    QTest::newRow("nil") << hex("c0") << false;
}

// A packed value is undefined (a tombstone's) exactly when it decodes as undefined.
void TestMsgPackCodec::packedUndefinedInEveryEncoding()
{
    QFETCH(QByteArray, bytes);
    QFETCH(bool, undefined);

    const DecodeResult decoded = MsgPackCodec::decode(bytes);
    QVERIFY(decoded.ok);
    QCOMPARE(decoded.value.isUndefined(), undefined);
    const wingman::crdt::Value packed = wingman::crdt::Value::fromPacked(bytes);
    QCOMPARE(packed.isUndefined(), undefined);
    QCOMPARE(wingman::crdt::Value::isUndefinedPacked(bytes), undefined);
    QCOMPARE(packed.isNullish(), undefined || packed.isNull());
    QCOMPARE(packed.toCbor().isUndefined(), undefined);
}

void TestMsgPackCodec::depthLimitIsExact()
{
    const QByteArray atLimit = QByteArray(64, char(0x91)) + hex("01");
    const DecodeResult ok = MsgPackCodec::decode(atLimit);
    QVERIFY2(ok.ok, qPrintable(ok.error.reason));
    QCOMPARE(MsgPackCodec::valueSize(atLimit), atLimit.size());
    QCOMPARE(MsgPackCodec::valueSize(QByteArray(65, char(0x91)) + hex("01")), -1);

    const QByteArray overLimit = QByteArray(65, char(0x91)) + hex("01");
    const DecodeResult refused = MsgPackCodec::decode(overLimit);
    QVERIFY(!refused.ok);
    QVERIFY2(refused.error.reason.contains("nesting"_L1), qPrintable(refused.error.reason));

    DecodeLimits shallow;
    shallow.maxDepth = 2;
    QVERIFY(MsgPackCodec::decode(hex("9191c0"), shallow).ok);
    QVERIFY(!MsgPackCodec::decode(hex("919191c0"), shallow).ok);
    QVERIFY(!MsgPackCodec::decode(hex("81a1618181c0c0"), shallow).ok); // map key nests too
    QCOMPARE(MsgPackCodec::valueSize(hex("9191c0"), shallow), 3);
    QCOMPARE(MsgPackCodec::valueSize(hex("919191c0"), shallow), -1);
}

void TestMsgPackCodec::elementAndByteLimits()
{
    DecodeLimits limits;
    limits.maxElements = 10;
    QVERIFY(MsgPackCodec::decode(hex("9a00000000000000000000"), limits).ok);
    QCOMPARE(MsgPackCodec::valueSize(hex("9a00000000000000000000"), limits), 11);
    QCOMPARE(MsgPackCodec::valueSize(hex("9b0000000000000000000000"), limits), -1);
    const DecodeResult tooMany = MsgPackCodec::decode(hex("9b0000000000000000000000"), limits);
    QVERIFY(!tooMany.ok);
    QVERIFY2(tooMany.error.reason.contains("elements"_L1), qPrintable(tooMany.error.reason));
    // Elements count across the whole document, not per container.
    QVERIFY(!MsgPackCodec::decode(hex("92950000000000950000000000"), limits).ok);

    limits = {};
    limits.maxBytes = 8;
    QVERIFY(MsgPackCodec::decode(hex("a7") + "abcdefg", limits).ok);
    QVERIFY(!MsgPackCodec::decode(hex("a8") + "abcdefgh", limits).ok);
}

void TestMsgPackCodec::malformedInputFailsQuickly_data()
{
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("empty") << QByteArray();
    QTest::newRow("reserved 0xc1") << hex("c1");
    QTest::newRow("reserved inside array") << hex("9201c1");
    QTest::newRow("reserved as map key") << hex("81c101");
    QTest::newRow("map missing value") << hex("81a161");
    QTest::newRow("truncated float64") << hex("cb40040000");
    QTest::newRow("truncated str8") << hex("d90561");
    QTest::newRow("truncated fixext") << hex("d405");
    QTest::newRow("depth bomb 100k arrays") << QByteArray(100000, char(0x91)) + hex("00");
    QTest::newRow("depth bomb 100k maps") << QByteArray(100000, char(0x81));
    QTest::newRow("array32 huge") << hex("ddffffffff00");
    QTest::newRow("map32 huge") << hex("dfffffffff0000");
    QTest::newRow("array16 beyond input") << hex("dc03e80000");
    QTest::newRow("nested array32 huge") << hex("9191ddfffffff0");
    QTest::newRow("str32 huge") << hex("dbffffffff6162");
    QTest::newRow("bin32 huge") << hex("c6ffffffff0102");
    QTest::newRow("ext32 huge") << hex("c9ffffffff01");
    QTest::newRow("ext32 max") << hex("c9fffffffe0501");
    QTest::newRow("trailing byte") << hex("0102");
    QTest::newRow("trailing garbage after map") << hex("81a16101ffff");
    QTest::newRow("two documents") << hex("c0c0");
    QTest::newRow("json text") << QByteArray(R"({"type":"PING"})");
}

void TestMsgPackCodec::malformedInputFailsQuickly()
{
    QFETCH(QByteArray, bytes);
    QElapsedTimer timer;
    timer.start();
    const DecodeResult decoded = MsgPackCodec::decode(bytes);
    QVERIFY2(timer.elapsed() < kQuickMs, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(!decoded.ok);
    QVERIFY(!decoded.error.reason.isEmpty());
    QVERIFY(decoded.error.field.isEmpty());
}

void TestMsgPackCodec::everyTruncationFails()
{
    const QByteArray full = MsgPackCodec::encode(sampleMessage());
    QVERIFY(MsgPackCodec::decode(full).ok);
    for (qsizetype size = 0; size < full.size(); ++size) {
        const DecodeResult decoded = MsgPackCodec::decode(QByteArrayView(full).first(size));
        QVERIFY2(!decoded.ok, qPrintable(QStringLiteral("prefix %1 decoded").arg(size)));
        QCOMPARE(MsgPackCodec::valueSize(QByteArrayView(full).first(size)), -1);
        QVERIFY(!decoded.error.reason.isEmpty());
    }
}

void TestMsgPackCodec::randomInputNeverEscapes()
{
    // Mutations of a real message plus pure noise: decode must fail cleanly or produce a value
    // that re-encodes to something that decodes to the same value.
    QRandomGenerator random(20240601);
    const QByteArray base = MsgPackCodec::encode(sampleMessage());
    int decodedCount = 0;
    for (int round = 0; round < 20000; ++round) {
        QByteArray bytes = base;
        if (round % 4 == 0) {
            bytes.resize(random.bounded(1, 64));
            for (char &c : bytes)
                c = char(random.bounded(256));
        } else {
            const int flips = random.bounded(1, 4);
            for (int i = 0; i < flips; ++i)
                bytes[random.bounded(bytes.size())] = char(random.bounded(256));
        }
        const DecodeResult decoded = MsgPackCodec::decode(bytes);
        if (!decoded.ok) {
            QVERIFY(!decoded.error.reason.isEmpty());
            continue;
        }
        // What decode takes, valueSize measures whole.
        QCOMPARE(MsgPackCodec::valueSize(bytes), bytes.size());
        ++decodedCount;
        const DecodeResult again = MsgPackCodec::decode(MsgPackCodec::encode(decoded.value));
        QVERIFY(again.ok);
        QCOMPARE(MsgPackCodec::encode(again.value), MsgPackCodec::encode(decoded.value));
    }
    QVERIFY(decodedCount > 0);
}

void TestMsgPackCodec::encodesOtherCborTypes_data()
{
    QTest::addColumn<QCborValue>("value");
    QTest::addColumn<QCborValue>("decoded");

    QTest::newRow("negative bignum small")
        << QCborValue(QCborKnownTags::NegativeBignum, hex("04")) << QCborValue(-5);
    QTest::newRow("positive bignum small")
        << QCborValue(QCborKnownTags::PositiveBignum, hex("0100")) << QCborValue(256);
    QTest::newRow("unknown tag carries content") << QCborValue(QCborTag(4242), 7) << QCborValue(7);
    QTest::newRow("url") << QCborValue(QUrl("https://example.com/"_L1))
                         << QCborValue("https://example.com/"_L1);
    QTest::newRow("date") << QCborValue(QDateTime::fromMSecsSinceEpoch(0, Qt::UTC))
                          << QCborValue("1970-01-01T00:00:00.000Z"_L1);
    QTest::newRow("simple type") << QCborValue(QCborSimpleType(99)) << QCborValue(nullptr);
    QTest::newRow("invalid") << QCborValue(QCborValue::Invalid) << QCborValue(nullptr);
}

void TestMsgPackCodec::encodesOtherCborTypes()
{
    QFETCH(QCborValue, value);
    QFETCH(QCborValue, decoded);
    const DecodeResult result = MsgPackCodec::decode(MsgPackCodec::encode(value));
    QVERIFY2(result.ok, qPrintable(result.error.reason));
    QCOMPARE(result.value, decoded);
}

QTEST_APPLESS_MAIN(TestMsgPackCodec)

#include "tst_msgpackcodec.moc"

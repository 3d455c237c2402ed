#include "protocol/Frame.h"

#include <QCborArray>
#include <QCborMap>
#include <QElapsedTimer>
#include <QTest>

using namespace wingman::protocol;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(FrameDecodeResult::Status)

namespace {

QByteArray hex(const char *text)
{
    return QByteArray::fromHex(text);
}

} // namespace

class TestFrame : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void decodesMessages_data();
    void decodesMessages();
    void classifiesFailures_data();
    void classifiesFailures();
    void reportsTheLikelyFormat_data();
    void reportsTheLikelyFormat();
    void encodeRoundTrip();
};

void TestFrame::decodesMessages_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QCborMap>("message");

    const QCborMap ping { { "type"_L1, "PING"_L1 }, { "timestamp"_L1, 1700000000000.0 } };
    QTest::newRow("msgpack") << hex("82a474797065a450494e47a974696d657374616d70cb4278bcfe56800000")
                             << ping;
    // Qt's JSON objects come back with sorted keys.
    QTest::newRow("json text") << QByteArray(R"({"type":"PING","timestamp":1700000000000.5})")
                               << QCborMap { { "timestamp"_L1, 1700000000000.5 },
                                      { "type"_L1, "PING"_L1 } };
    QTest::newRow("json with leading whitespace")
        << QByteArray("\n  {\"type\":\"AUTH\",\"token\":\"t\"}")
        << QCborMap { { "token"_L1, "t"_L1 }, { "type"_L1, "AUTH"_L1 } };
    QTest::newRow("msgpack with undefined field")
        << hex("82a474797065a441555448a5746f6b656ed40000") << QCborMap { { "type"_L1, "AUTH"_L1 } };
}

void TestFrame::decodesMessages()
{
    QFETCH(QByteArray, frame);
    QFETCH(QCborMap, message);
    const FrameDecodeResult decoded = Frame::decode(frame);
    QCOMPARE(decoded.status, FrameDecodeResult::Ok);
    QVERIFY(decoded.ok());
    QCOMPARE(decoded.message, message);
    QCOMPARE(decoded.type, message.value("type"_L1).toString());
    QVERIFY(decoded.error.reason.isEmpty());
}

void TestFrame::classifiesFailures_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<FrameDecodeResult::Status>("status");
    QTest::addColumn<QString>("field");

    const auto undecodable = FrameDecodeResult::Undecodable;
    const auto invalid = FrameDecodeResult::InvalidMessage;
    QTest::newRow("empty") << QByteArray() << undecodable << QString();
    QTest::newRow("reserved byte") << hex("c1") << undecodable << QString();
    QTest::newRow("truncated msgpack") << hex("82a474797065a450494e") << undecodable << QString();
    QTest::newRow("broken json") << QByteArray(R"({"type":"PING")") << undecodable << QString();
    QTest::newRow("depth bomb") << QByteArray(100000, char(0x91)) << undecodable << QString();
    QTest::newRow("json depth bomb") << QByteArray(100000, '[') << undecodable << QString();
    QTest::newRow("huge declared map") << hex("dfffffffff") << undecodable << QString();
    QTest::newRow("trailing garbage")
        << hex("81a474797065a450494e47ff") << undecodable << QString();
    QTest::newRow("msgpack array") << hex("920102") << invalid << QString();
    QTest::newRow("msgpack int") << hex("05") << invalid << QString();
    QTest::newRow("msgpack nil") << hex("c0") << invalid << QString();
    QTest::newRow("json array") << QByteArray("[1,2]") << invalid << QString();
    QTest::newRow("json string") << QByteArray(R"("PING")") << invalid << QString();
    QTest::newRow("no type") << hex("81a16101") << invalid << u"type"_s;
    QTest::newRow("type is int") << hex("81a47479706505") << invalid << u"type"_s;
    QTest::newRow("type is nil") << hex("81a474797065c0") << invalid << u"type"_s;
    QTest::newRow("type undefined") << hex("81a474797065d40000") << invalid << u"type"_s;
    QTest::newRow("json without type") << QByteArray("{}") << invalid << u"type"_s;
    QTest::newRow("json type number") << QByteArray(R"({"type":1})") << invalid << u"type"_s;
}

void TestFrame::classifiesFailures()
{
    QFETCH(QByteArray, frame);
    QFETCH(FrameDecodeResult::Status, status);
    QFETCH(QString, field);
    QElapsedTimer timer;
    timer.start();
    const FrameDecodeResult decoded = Frame::decode(frame);
    QVERIFY(timer.elapsed() < 2000);
    QCOMPARE(decoded.status, status);
    QVERIFY(!decoded.ok());
    QVERIFY(!decoded.error.reason.isEmpty());
    QCOMPARE(decoded.error.field, field);
    QVERIFY(decoded.message.isEmpty());
}

void TestFrame::reportsTheLikelyFormat_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::addColumn<QString>("reasonPart");

    QTest::newRow("msgpack truncated") << hex("82a474797065") << u"truncated"_s;
    QTest::newRow("msgpack too deep") << QByteArray(100, char(0x91)) << u"nesting"_s;
    QTest::newRow("json broken") << QByteArray(R"({"type":)") << u"JSON"_s;
}

void TestFrame::reportsTheLikelyFormat()
{
    QFETCH(QByteArray, frame);
    QFETCH(QString, reasonPart);
    const FrameDecodeResult decoded = Frame::decode(frame);
    QCOMPARE(decoded.status, FrameDecodeResult::Undecodable);
    QVERIFY2(decoded.error.reason.contains(reasonPart), qPrintable(decoded.error.reason));
}

void TestFrame::encodeRoundTrip()
{
    const QCborMap message { { "type"_L1, "SERVER_EVENT"_L1 },
        { "payload"_L1, QCborMap { { "mapName"_L1, "m"_L1 }, { "n"_L1, 70000 } } } };
    const QByteArray frame = Frame::encode(message);
    // Strings and ints as msgpackr writes them: the map header, then "type" as a fixstr.
    QVERIFY(frame.startsWith(hex("82a474797065")));
    QVERIFY(frame.contains(hex("a16ece00011170")));
    const FrameDecodeResult decoded = Frame::decode(frame);
    QVERIFY(decoded.ok());
    QCOMPARE(decoded.message, message);
    QCOMPARE(decoded.type, u"SERVER_EVENT"_s);
}

QTEST_APPLESS_MAIN(TestFrame)

#include "tst_frame.moc"

#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

#include <QCborMap>
#include <QElapsedTimer>
#include <QTest>

using namespace wingman::protocol;
using namespace Qt::StringLiterals;

namespace {

QByteArray hex(const char *text)
{
    return QByteArray::fromHex(text);
}

QByteArrayList sampleMessages(int count)
{
    QByteArrayList messages;
    for (int i = 0; i < count; ++i) {
        QCborMap message { { "type"_L1, "SERVER_EVENT"_L1 }, { "n"_L1, i } };
        if (i % 7 == 3)
            message.insert("blob"_L1, QByteArray(70000 + i, char('a' + i % 26)));
        messages.append(Frame::encode(message));
    }
    return messages;
}

} // namespace

class TestBatchContainer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void exactLayout();
    void roundTrip_data();
    void roundTrip();
    void toCborMatchesEncode();
    void malformedData_data();
    void malformedData();
    void malformedMessage_data();
    void malformedMessage();
};

void TestBatchContainer::exactLayout()
{
    const QByteArrayList messages { hex("c0"), hex("81a16101") };
    const QByteArray data = BatchContainer::encodeData(messages);
    QCOMPARE(data.toHex(),
        hex("02000000"
            "01000000c0"
            "0400000081a16101")
            .toHex());
    // {type:'BATCH', count:2, data:<bin 8 of 17 bytes>}
    const QByteArray frame = BatchContainer::encode(messages);
    QCOMPARE(frame.toHex(),
        (hex("83a474797065a54241544348a5636f756e7402a464617461c411") + data).toHex());
}

void TestBatchContainer::roundTrip_data()
{
    QTest::addColumn<int>("count");
    QTest::newRow("empty") << 0;
    QTest::newRow("one") << 1;
    QTest::newRow("three") << 3;
    QTest::newRow("hundred with large ones") << 100;
}

void TestBatchContainer::roundTrip()
{
    QFETCH(int, count);
    const QByteArrayList messages = sampleMessages(count);
    const FrameDecodeResult frame = Frame::decode(BatchContainer::encode(messages));
    QVERIFY2(frame.ok(), qPrintable(frame.error.reason));
    QCOMPARE(frame.type, u"BATCH"_s);
    QCOMPARE(frame.message.value("count"_L1), QCborValue(count));

    const BatchDecodeResult decoded = BatchContainer::decode(frame.message);
    QVERIFY2(decoded.ok, qPrintable(decoded.error.field + u": "_s + decoded.error.reason));
    QCOMPARE(decoded.messages, messages);
}

void TestBatchContainer::toCborMatchesEncode()
{
    const QByteArrayList messages = sampleMessages(5);
    const QCborMap map = BatchContainer::toCbor(messages);
    QCOMPARE(Frame::encode(map), BatchContainer::encode(messages));
    QCOMPARE(map.value("data"_L1).toByteArray(), BatchContainer::encodeData(messages));
}

void TestBatchContainer::malformedData_data()
{
    QTest::addColumn<QByteArray>("data");

    QTest::newRow("empty") << QByteArray();
    QTest::newRow("short count") << hex("010000");
    QTest::newRow("count without length") << hex("01000000");
    QTest::newRow("huge count") << hex("ffffffff0100000001");
    QTest::newRow("count beyond data") << hex("03000000 01000000c0 01000000c0");
    QTest::newRow("short length word") << hex("01000000 0100");
    QTest::newRow("length beyond data") << hex("01000000 05000000c0c0");
    QTest::newRow("huge length") << hex("01000000 ffffffffc0");
    QTest::newRow("zero-length message") << hex("01000000 00000000");
    QTest::newRow("trailing bytes") << hex("01000000 01000000c0 ff");
}

void TestBatchContainer::malformedData()
{
    QFETCH(QByteArray, data);
    QElapsedTimer timer;
    timer.start();
    const BatchDecodeResult decoded = BatchContainer::decodeData(data);
    QVERIFY(timer.elapsed() < 1000);
    QVERIFY(!decoded.ok);
    QVERIFY(decoded.messages.isEmpty());
    QCOMPARE(decoded.error.field, u"data"_s);
    QVERIFY(!decoded.error.reason.isEmpty());
}

void TestBatchContainer::malformedMessage_data()
{
    QTest::addColumn<QCborMap>("message");
    QTest::addColumn<QString>("field");

    const QByteArray data = BatchContainer::encodeData({ hex("c0") });
    QTest::newRow("wrong type") << QCborMap { { "type"_L1, "BATCHES"_L1 }, { "data"_L1, data } }
                                << u"type"_s;
    QTest::newRow("no data") << QCborMap { { "type"_L1, "BATCH"_L1 }, { "count"_L1, 1 } }
                             << u"data"_s;
    QTest::newRow("data not binary") << QCborMap { { "type"_L1, "BATCH"_L1 }, { "count"_L1, 1 },
        { "data"_L1, "x"_L1 } } << u"data"_s;
    QTest::newRow("count mismatch") << QCborMap { { "type"_L1, "BATCH"_L1 }, { "count"_L1, 2 },
        { "data"_L1, data } } << u"count"_s;
    QTest::newRow("count not a number")
        << QCborMap { { "type"_L1, "BATCH"_L1 }, { "count"_L1, "1"_L1 }, { "data"_L1, data } }
        << u"count"_s;
    QTest::newRow("bad data") << QCborMap { { "type"_L1, "BATCH"_L1 }, { "data"_L1, hex("0500") } }
                              << u"data"_s;
}

void TestBatchContainer::malformedMessage()
{
    QFETCH(QCborMap, message);
    QFETCH(QString, field);
    const BatchDecodeResult decoded = BatchContainer::decode(message);
    QVERIFY(!decoded.ok);
    QCOMPARE(decoded.error.field, field);
}

QTEST_APPLESS_MAIN(TestBatchContainer)

#include "tst_batchcontainer.moc"

#include "cluster/PeerFrameReader.h"
#include "wire/MsgPackCodec.h"

#include <QCborMap>
#include <QTest>
#include <QtEndian>

using namespace wingman;
using namespace Qt::StringLiterals;
using Frame = cluster::PeerFrameReader::Frame;

namespace {

QByteArray lengthPrefix(quint32 length)
{
    QByteArray prefix(4, '\0');
    qToBigEndian<quint32>(length, prefix.data());
    return prefix;
}

QByteArray framed(const QByteArray &body)
{
    return lengthPrefix(quint32(body.size())) + body;
}

QByteArray body(const QString &type, int n = 0)
{
    return wire::MsgPackCodec::encode(QCborMap { { "type"_L1, type }, { "n"_L1, n } });
}

} // namespace

class TestPeerFrameReader : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void framesInOrder();
    void bytesArriveInPieces();
    void peekType_data();
    void peekType();
    void tooLargeStopsTheStream();
    void untypedStopsTheStream();
};

void TestPeerFrameReader::framesInOrder()
{
    cluster::PeerFrameReader reader;
    reader.append(framed(body(u"HELLO"_s, 1)) + framed(body(u"REPLICATE"_s, 2)));
    const Frame first = reader.next();
    QCOMPARE(first.status, Frame::Ok);
    QCOMPARE(first.type, u"HELLO"_s);
    QCOMPARE(first.body, body(u"HELLO"_s, 1));
    const Frame second = reader.next();
    QCOMPARE(second.status, Frame::Ok);
    QCOMPARE(second.type, u"REPLICATE"_s);
    QCOMPARE(second.body, body(u"REPLICATE"_s, 2));
    QCOMPARE(reader.next().status, Frame::Incomplete);
}

void TestPeerFrameReader::bytesArriveInPieces()
{
    const QByteArray stream = framed(body(u"REPLICATE_ACK"_s, 7));
    cluster::PeerFrameReader reader;
    for (qsizetype i = 0; i + 1 < stream.size(); ++i) {
        reader.append(stream.sliced(i, 1));
        QCOMPARE(reader.next().status, Frame::Incomplete);
    }
    reader.append(stream.last(1));
    const Frame frame = reader.next();
    QCOMPARE(frame.status, Frame::Ok);
    QCOMPARE(frame.type, u"REPLICATE_ACK"_s);
}

void TestPeerFrameReader::peekType_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QString>("type");

    QTest::newRow("fixmap") << body(u"GC"_s) << u"GC"_s;
    QTest::newRow("str8 type") << body(QString(40, u'T')) << QString(40, u'T');
    QTest::newRow("str16 type") << body(QString(300, u'T')) << QString(300, u'T');
    QTest::newRow("map16") << QByteArray::fromHex("de0001a474797065a3414243") << u"ABC"_s;
    QTest::newRow("map32") << QByteArray::fromHex("df00000001a474797065a3414243") << u"ABC"_s;
    QTest::newRow("empty") << QByteArray() << QString();
    QTest::newRow("not a map") << QByteArray::fromHex("92a474797065a141") << QString();
    QTest::newRow("other first key")
        << wire::MsgPackCodec::encode(QCborMap { { "kind"_L1, "HELLO"_L1 } }) << QString();
    QTest::newRow("type not a string") << QByteArray::fromHex("81a47479706501") << QString();
    QTest::newRow("type cut short") << QByteArray::fromHex("81a474797065a5414243") << QString();
    QTest::newRow("str8 length missing") << QByteArray::fromHex("81a474797065d9") << QString();
    QTest::newRow("str16 length cut") << QByteArray::fromHex("81a474797065da00") << QString();
}

void TestPeerFrameReader::peekType()
{
    QFETCH(QByteArray, body);
    QFETCH(QString, type);
    QCOMPARE(cluster::PeerFrameReader::peekType(body), type);
}

void TestPeerFrameReader::tooLargeStopsTheStream()
{
    cluster::PeerFrameReader reader;
    reader.append(lengthPrefix(quint32(cluster::PeerFrameReader::kMaxFrameBytes + 1)));
    const Frame frame = reader.next();
    QCOMPARE(frame.status, Frame::TooLarge);
    QCOMPARE(frame.length, quint32(cluster::PeerFrameReader::kMaxFrameBytes + 1));
    reader.append(framed(body(u"HELLO"_s)));
    QCOMPARE(reader.next().status, Frame::Incomplete);
}

void TestPeerFrameReader::untypedStopsTheStream()
{
    cluster::PeerFrameReader reader;
    reader.append(framed(QByteArray::fromHex("c0")) + framed(body(u"HELLO"_s)));
    QCOMPARE(reader.next().status, Frame::Untyped);
    QCOMPARE(reader.next().status, Frame::Incomplete);
}

QTEST_GUILESS_MAIN(TestPeerFrameReader)
#include "tst_peerframereader.moc"

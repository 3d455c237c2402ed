#include "protocol/Frame.h"
#include "protocol/OpBatchDecoder.h"

#include <QCborArray>
#include <QCborMap>
#include <QFile>
#include <QTest>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;

namespace {

QCborMap timestamp(const QCborValue &millis = 1700000000000.0, const QCborValue &counter = 3,
    const QCborValue &nodeId = u"client-a"_s)
{
    return QCborMap { { "millis"_L1, millis }, { "counter"_L1, counter }, { "nodeId"_L1, nodeId } };
}

QCborMap put(int id, const QCborValue &value = QCborMap { { "title"_L1, "milk"_L1 } })
{
    return QCborMap { { "id"_L1, QString::number(id) }, { "mapName"_L1, "todos"_L1 },
        { "key"_L1, u"k%1"_s.arg(id) }, { "opType"_L1, "PUT"_L1 },
        { "record"_L1, QCborMap { { "value"_L1, value }, { "timestamp"_L1, timestamp() } } } };
}

QByteArray batch(const QCborArray &ops, const QCborMap &extra = {})
{
    QCborMap payload { { "ops"_L1, ops } };
    for (auto it = extra.cbegin(); it != extra.cend(); ++it)
        payload.insert(it.key(), it.value());
    return wire::MsgPackCodec::encode(
        QCborMap { { "type"_L1, "OP_BATCH"_L1 }, { "payload"_L1, payload } });
}

QByteArray clientOp(const QCborMap &op)
{
    return wire::MsgPackCodec::encode(
        QCborMap { { "type"_L1, "CLIENT_OP"_L1 }, { "payload"_L1, op } });
}

QCborMap with(QCborMap map, const QString &path, const QCborValue &value)
{
    const qsizetype dot = path.indexOf(u'.');
    if (dot < 0) {
        if (value.isUndefined())
            map.remove(path);
        else
            map.insert(path, value);
        return map;
    }
    const QString head = path.left(dot);
    map.insert(head, with(map.value(head).toMap(), path.mid(dot + 1), value));
    return map;
}

// What the generic path makes of the frame: the ops, or nullopt when any op is refused.
std::optional<QList<ClientOp>> generic(const QByteArray &frame)
{
    const FrameDecodeResult decoded = Frame::decode(frame);
    if (!decoded.ok())
        return std::nullopt;
    const QCborMap payload = decoded.message.value("payload"_L1).toMap();
    const QCborArray raw
        = decoded.type == u"CLIENT_OP" ? QCborArray { payload } : payload.value("ops"_L1).toArray();
    QList<ClientOp> ops;
    for (const QCborValue &value : raw) {
        auto op = ClientOp::fromCbor(value.toMap());
        if (!op)
            return std::nullopt;
        ops.append(*op);
    }
    return ops;
}

// U+FFFD, which the tests write where the frame must carry invalid UTF-8.
const QString kMark = u"\uFFFD"_s;

// Each encoded U+FFFD (EF BF BD) of the frame replaced by three bytes that are not UTF-8.
QByteArray withInvalidUtf8(QByteArray frame, const QByteArray &bytes = "\xff\xfe\xfd")
{
    return frame.replace("\xef\xbf\xbd", bytes);
}

} // namespace

class TestOpBatchDecoder : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void takesThePlainShape_data();
    void takesThePlainShape();
    void leavesTheRestToTheGenericPath_data();
    void leavesTheRestToTheGenericPath();
    void batchOptions();
    void cachedNamesStayCorrect();
    void validatesUtf8Strictly_data();
    void validatesUtf8Strictly();
    void refusesOpsWithInvalidUtf8_data();
    void refusesOpsWithInvalidUtf8();
    void refusesOtherMessagesWithInvalidUtf8();
    void lyingContainerHeadersAllocateNothing();
};

void TestOpBatchDecoder::takesThePlainShape_data()
{
    QTest::addColumn<QByteArray>("frame");
    QCborArray hundred;
    for (int i = 0; i < 100; ++i)
        hundred.append(put(i));
    QTest::newRow("batch of 100") << batch(hundred);
    QTest::newRow("client op") << clientOp(put(1));
    QTest::newRow("type not the first field") << wire::MsgPackCodec::encode(
        QCborMap { { "payload"_L1, put(1) }, { "type"_L1, "CLIENT_OP"_L1 } });
    QTest::newRow("tombstone, value absent")
        << clientOp(with(put(1), u"record.value"_s, QCborValue()));
    QTest::newRow("tombstone, value nil")
        << clientOp(with(put(1), u"record.value"_s, QCborValue(nullptr)));
    QTest::newRow("remove") << clientOp(
        with(with(put(1), u"opType"_s, u"REMOVE"_s), u"record.value"_s, QCborValue(nullptr)));
    QTest::newRow("no opType") << clientOp(with(put(1), u"opType"_s, QCborValue()));
    QTest::newRow("no id") << clientOp(with(put(1), u"id"_s, QCborValue()));
    QTest::newRow("ttl") << clientOp(with(put(1), u"record.ttlMs"_s, 5000));
    QTest::newRow("integer millis")
        << clientOp(with(put(1), u"record.timestamp.millis"_s, qint64(1700000000000)));
    QTest::newRow("unicode") << clientOp(
        with(with(put(1), u"key"_s, u"cl\u00e9 \U0001F600"_s), u"mapName"_s, u"\u4e2d"_s));
    QTest::newRow("nested value") << clientOp(put(1,
        QCborMap { { "a"_L1, QCborArray { 1, -2, 2.5, true, QCborValue(nullptr), u"\u00e9"_s } },
            { "b"_L1, QByteArray("\x01\x02", 2) }, { 7, u"int key"_s },
            { "c"_L1, QCborMap { { "d"_L1, qint64(1) << 40 } } } }));
    QTest::newRow("scalar values") << batch({ put(1, 42), put(2, u"text"_s), put(3, false) });
    QCborMap large;
    for (int i = 0; i < 40; ++i)
        large.insert(QString::number(i), i);
    QTest::newRow("large map value") << clientOp(put(1, large));
    QTest::newRow("integer beyond int64") << clientOp(put(1,
        QCborMap { { "big"_L1,
            QCborValue(QCborKnownTags::PositiveBignum,
                QByteArray("\xff\xff\xff\xff\xff\xff\xff\xff", 8)) } }));
    QTest::newRow("unknown fields ignored")
        << clientOp(with(with(put(1), u"extra"_s, 1), u"record.extra"_s, u"x"_s));
    QTest::newRow("or add") << clientOp(QCborMap { { "id"_L1, "9"_L1 }, { "mapName"_L1, "tags"_L1 },
        { "key"_L1, "t"_L1 }, { "opType"_L1, "OR_ADD"_L1 },
        { "orRecord"_L1,
            QCborMap { { "value"_L1, "red"_L1 }, { "timestamp"_L1, timestamp() },
                { "tag"_L1, "1700000000000:3:client-a"_L1 }, { "ttlMs"_L1, 100 } } } });
    QTest::newRow("or remove") << clientOp(
        QCborMap { { "mapName"_L1, "tags"_L1 }, { "key"_L1, "t"_L1 },
            { "opType"_L1, "OR_REMOVE"_L1 }, { "orTag"_L1, "1700000000000:3:client-a"_L1 } });
}

void TestOpBatchDecoder::takesThePlainShape()
{
    QFETCH(QByteArray, frame);
    OpBatchDecoder decoder;
    const auto fast = decoder.decode(frame);
    QVERIFY2(fast, "the plain shape must not fall back to the generic path");
    const auto expected = generic(frame);
    QVERIFY(expected);
    QCOMPARE(fast->ops, *expected);
    // Values stay in their wire form, the very bytes of the frame.
    for (const ClientOp &op : fast->ops) {
        const crdt::Value *value = op.record ? &op.record->value
            : op.orRecord                    ? &op.orRecord->value
                                             : nullptr;
        if (!value)
            continue;
        QVERIFY(value->isPacked());
        QVERIFY(value->isNull() || frame.contains(value->packed()));
        QCOMPARE(wire::MsgPackCodec::valueSize(value->packed()), value->packed().size());
    }
}

void TestOpBatchDecoder::leavesTheRestToTheGenericPath_data()
{
    QTest::addColumn<QByteArray>("frame");
    QTest::newRow("other type") << wire::MsgPackCodec::encode(
        QCborMap { { "type"_L1, "PING"_L1 } });
    QTest::newRow("json text") << QByteArray(R"({"type":"CLIENT_OP","payload":{}})");
    QTest::newRow("truncated") << clientOp(put(1)).chopped(3);
    QTest::newRow("trailing bytes") << clientOp(put(1)) + QByteArray(1, '\xc0');
    QTest::newRow("ops not an array") << wire::MsgPackCodec::encode(
        QCborMap { { "type"_L1, "OP_BATCH"_L1 }, { "payload"_L1, QCborMap { { "ops"_L1, 1 } } } });
    QTest::newRow("mapName missing") << clientOp(with(put(1), u"mapName"_s, QCborValue()));
    QTest::newRow("key not a string") << clientOp(with(put(1), u"key"_s, 5));
    QTest::newRow("integer id") << clientOp(with(put(1), u"id"_s, 5));
    QTest::newRow("null id") << clientOp(with(put(1), u"id"_s, QCborValue(nullptr)));
    QTest::newRow("unknown opType") << clientOp(with(put(1), u"opType"_s, u"MERGE"_s));
    QTest::newRow("PUT without record") << clientOp(with(put(1), u"record"_s, QCborValue()));
    QTest::newRow("fractional millis") << clientOp(with(put(1), u"record.timestamp.millis"_s, 1.5));
    QTest::newRow("counter beyond 32 bits")
        << clientOp(with(put(1), u"record.timestamp.counter"_s, qint64(1) << 33));
    QTest::newRow("nodeId missing")
        << clientOp(with(put(1), u"record.timestamp.nodeId"_s, QCborValue()));
    QTest::newRow("undefined in value") << clientOp(put(1, QCborMap { { "a"_L1, QCborValue() } }));
    QCborArray mixed { put(1), with(put(2), u"key"_s, 2) };
    QTest::newRow("one bad op in a batch") << batch(mixed);
}

void TestOpBatchDecoder::leavesTheRestToTheGenericPath()
{
    QFETCH(QByteArray, frame);
    OpBatchDecoder decoder;
    QVERIFY(!decoder.decode(frame));
}

void TestOpBatchDecoder::batchOptions()
{
    OpBatchDecoder decoder;
    const auto decoded = decoder.decode(
        batch({ put(1) }, QCborMap { { "writeConcern"_L1, "MEMORY"_L1 }, { "timeout"_L1, 500 } }));
    QVERIFY(decoded);
    QCOMPARE(decoded->type, MessageType::OpBatch);
    QCOMPARE(decoded->writeConcern, WriteConcern::Memory);
    QCOMPARE(decoded->timeout, 500);

    const auto single
        = decoder.decode(clientOp(with(put(1), u"writeConcern"_s, u"FIRE_AND_FORGET"_s)));
    QVERIFY(single);
    QCOMPARE(single->type, MessageType::ClientOp);
    QCOMPARE(single->writeConcern, WriteConcern::FireAndForget);

    QVERIFY(!decoder.decode(batch({ put(1) }, QCborMap { { "writeConcern"_L1, "SOMETIMES"_L1 } })));
}

void TestOpBatchDecoder::cachedNamesStayCorrect()
{
    OpBatchDecoder decoder;
    const auto first = decoder.decode(clientOp(put(1)));
    const auto second = decoder.decode(clientOp(
        with(with(put(2), u"mapName"_s, u"other"_s), u"record.timestamp.nodeId"_s, u"b"_s)));
    const auto third = decoder.decode(clientOp(with(put(3), u"mapName"_s, u"\u00e9"_s)));
    QVERIFY(first && second && third);
    QCOMPARE(first->ops.at(0).mapName, u"todos"_s);
    QCOMPARE(first->ops.at(0).record->timestamp.nodeId, u"client-a"_s);
    QCOMPARE(second->ops.at(0).mapName, u"other"_s);
    QCOMPARE(second->ops.at(0).record->timestamp.nodeId, u"b"_s);
    QCOMPARE(third->ops.at(0).mapName, u"\u00e9"_s);
}

void TestOpBatchDecoder::validatesUtf8Strictly_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("valid");
    QTest::newRow("empty") << QByteArray() << true;
    QTest::newRow("ascii, longer than a word") << QByteArray("todos:key-0123456789") << true;
    QTest::newRow("two bytes") << QByteArray("cl\xc3\xa9") << true;
    QTest::newRow("three bytes") << QByteArray("\xe4\xb8\xad") << true;
    QTest::newRow("four bytes") << QByteArray("\xf0\x9f\x98\x80") << true;
    QTest::newRow("U+10FFFF") << QByteArray("\xf4\x8f\xbf\xbf") << true;
    QTest::newRow("lone 0xff") << QByteArray("u\xff") << false;
    QTest::newRow("after eight ascii bytes") << QByteArray("abcdefgh\xfe") << false;
    QTest::newRow("lone continuation") << QByteArray("\x80") << false;
    QTest::newRow("truncated") << QByteArray("\xe4\xb8") << false;
    QTest::newRow("bad continuation") << QByteArray("\xe4\x41\xad") << false;
    QTest::newRow("overlong two bytes") << QByteArray("\xc0\xaf") << false;
    QTest::newRow("overlong three bytes") << QByteArray("\xe0\x80\xaf") << false;
    QTest::newRow("overlong four bytes") << QByteArray("\xf0\x80\x80\xaf") << false;
    QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << false;
    QTest::newRow("beyond U+10FFFF") << QByteArray("\xf4\x90\x80\x80") << false;
}

void TestOpBatchDecoder::validatesUtf8Strictly()
{
    QFETCH(QByteArray, bytes);
    QFETCH(bool, valid);
    QCOMPARE(wire::MsgPackCodec::isValidUtf8(bytes), valid);
}

void TestOpBatchDecoder::refusesOpsWithInvalidUtf8_data()
{
    QTest::addColumn<QCborMap>("op");
    const QCborMap orAdd { { "id"_L1, "9"_L1 }, { "mapName"_L1, "tags"_L1 }, { "key"_L1, "t"_L1 },
        { "opType"_L1, "OR_ADD"_L1 },
        { "orRecord"_L1,
            QCborMap { { "value"_L1, "red"_L1 }, { "timestamp"_L1, timestamp() },
                { "tag"_L1, "1700000000000:3:client-a"_L1 } } } };
    const QCborMap orRemove { { "id"_L1, "9"_L1 }, { "mapName"_L1, "tags"_L1 },
        { "key"_L1, "t"_L1 }, { "opType"_L1, "OR_REMOVE"_L1 }, { "orTag"_L1, "x"_L1 } };
    QTest::newRow("key") << with(put(1), u"key"_s, u"u"_s + kMark);
    QTest::newRow("mapName") << with(put(1), u"mapName"_s, u"todos"_s + kMark);
    QTest::newRow("id") << with(put(1), u"id"_s, kMark);
    QTest::newRow("nodeId") << with(put(1), u"record.timestamp.nodeId"_s, u"c"_s + kMark);
    QTest::newRow("tag") << with(orAdd, u"orRecord.tag"_s, kMark);
    QTest::newRow("orTag") << with(orRemove, u"orTag"_s, kMark);
    QTest::newRow("string value") << put(1, kMark);
    QTest::newRow("nested value") << put(1, QCborMap { { "a"_L1, QCborArray { 1, kMark } } });
    QTest::newRow("value map key") << put(1, QCborMap { { kMark, 1 } });
    QTest::newRow("field name") << with(put(1), kMark, 1);
    QTest::newRow("unknown field") << with(put(1), u"extra"_s, kMark);
}

// The fast path leaves such an op to the generic path, which refuses that op alone: its
// neighbour in the batch decodes.
void TestOpBatchDecoder::refusesOpsWithInvalidUtf8()
{
    QFETCH(QCborMap, op);
    const QByteArray frame = withInvalidUtf8(batch({ put(7), op }));
    OpBatchDecoder decoder;
    QVERIFY(!decoder.decode(frame));
    QVERIFY(!decoder.decode(withInvalidUtf8(clientOp(op))));

    const FrameDecodeResult decoded = Frame::decode(frame);
    QVERIFY(decoded.ok());
    const QCborArray raw = decoded.message.value("payload"_L1).toMap().value("ops"_L1).toArray();
    QCOMPARE(raw.size(), 2);
    QVERIFY(ClientOp::fromCbor(raw.at(0).toMap()));
    DecodeError error;
    QVERIFY(!ClientOp::fromCbor(raw.at(1).toMap(), &error));
    QVERIFY2(error.reason.contains("UTF-8"_L1), qPrintable(error.reason));
}

void TestOpBatchDecoder::refusesOtherMessagesWithInvalidUtf8()
{
    const QCborMap query { { "type"_L1, "QUERY_SUB"_L1 },
        { "payload"_L1,
            QCborMap { { "queryId"_L1, "q"_L1 }, { "mapName"_L1, u"m"_s + kMark },
                { "query"_L1, QCborMap {} } } } };
    const FrameDecodeResult decoded
        = Frame::decode(withInvalidUtf8(wire::MsgPackCodec::encode(query)));
    QCOMPARE(decoded.status, FrameDecodeResult::InvalidMessage);
    QVERIFY(Frame::decode(wire::MsgPackCodec::encode(query)).ok());

    const QCborMap badType { { "type"_L1, u"PING"_s + kMark } };
    QCOMPARE(Frame::decode(withInvalidUtf8(wire::MsgPackCodec::encode(badType))).status,
        FrameDecodeResult::InvalidMessage);
}

namespace {

// The process's peak virtual size (VmPeak), in KiB; -1 when /proc cannot tell.
qint64 peakVirtualKib()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmPeak:"))
            return line.mid(7).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

} // namespace

// A small frame whose nested arrays each claim a million elements: msgpack-c would set aside room
// for every claimed element before reading one (about 1 GiB for this frame). Refused, and the
// process's peak virtual size does not move.
void TestOpBatchDecoder::lyingContainerHeadersAllocateNothing()
{
    QByteArray frame = wire::MsgPackCodec::encode(
        QCborMap { { "type"_L1, "OP_BATCH"_L1 }, { "payload"_L1, QCborMap {} } });
    frame.chop(1); // the empty payload map
    frame.append('\x81'); // payload: { ops: [[[...]]] }
    frame.append(wire::MsgPackCodec::encode(u"ops"_s));
    for (int i = 0; i < 60; ++i)
        frame.append("\xdd\x00\x0f\x42\x40", 5); // array 32, 1,000,000 elements
    frame.append('\xc0');
    QVERIFY(frame.size() < 400);

    const qint64 before = peakVirtualKib();
    if (before < 0)
        QSKIP("no /proc/self/status VmPeak here");
    QVERIFY(!OpBatchDecoder().decode(frame));
    const qint64 grown = peakVirtualKib() - before;
    QVERIFY2(grown < 64 * 1024, qPrintable(QStringLiteral("VmPeak grew by %1 KiB").arg(grown)));
}

QTEST_APPLESS_MAIN(TestOpBatchDecoder)
#include "tst_opbatchdecoder.moc"

#include "protocol/Frame.h"
#include "protocol/Messages.h"
#include "wire/MsgPackWriter.h"

#include <QCborArray>
#include <QCborMap>
#include <QTest>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(wingman::protocol::MessageType)
Q_DECLARE_METATYPE(wingman::protocol::OpType)
Q_DECLARE_METATYPE(std::optional<wingman::protocol::OpType>)

namespace {

QByteArray hex(const char *text)
{
    return QByteArray::fromHex(text);
}

crdt::Timestamp ts(qint64 millis, qint32 counter, const QString &nodeId)
{
    return crdt::Timestamp { millis, counter, nodeId };
}

crdt::LwwRecord lww(const QCborValue &value, std::optional<qint64> ttlMs = std::nullopt)
{
    return crdt::LwwRecord { value, ts(1700000000000, 1, u"client-a"_s), ttlMs };
}

crdt::OrRecord orRecord(const QCborValue &value, const QString &tag)
{
    return crdt::OrRecord { value, ts(1700000000005, 0, u"n1"_s), tag, 1000 };
}

ClientOp putOp(const QString &id, const QString &key)
{
    ClientOp op;
    op.id = id;
    op.mapName = u"todos"_s;
    op.key = key;
    op.opType = OpType::Put;
    op.record
        = lww(QCborMap { { "title"_L1, "buy milk"_L1 }, { "done"_L1, false }, { "n"_L1, 2.5 } });
    return op;
}

OrMapEntry orEntry()
{
    return OrMapEntry { u"tags"_s,
        { orRecord(u"red"_s, u"1700000000005:0:n1"_s),
            orRecord(QCborMap { { "x"_L1, 1 } }, u"1700000000006:0:n1"_s) },
        { u"1690000000000:0:n2"_s } };
}

JournalEvent journalEvent()
{
    return JournalEvent { u"12"_s, u"UPDATE"_s, u"todos"_s, u"k"_s,
        crdt::Value(QCborMap { { "title"_L1, "new"_L1 } }), crdt::Value(u"old"_s),
        ts(1700000000007, 3, u"client-1"_s), u"server-1"_s };
}

const std::optional<crdt::Timestamp> kEnvelope = ts(1700000000100, 7, u"server-1"_s);

// Encodes to a MessagePack frame, decodes the frame and the typed message again.
template <typename T> void verifyRoundTrip(const T &message)
{
    const QCborMap map = message.toCbor();
    QCOMPARE(map.value("type"_L1).toString(), QString(messageTypeName(T::kType)));
    const FrameDecodeResult frame = Frame::decode(Frame::encode(map));
    QVERIFY2(frame.ok(), qPrintable(frame.error.reason));
    QVERIFY(messageTypeFromName(frame.type) == T::kType);
    DecodeError error;
    const std::optional<T> decoded = T::fromCbor(frame.message, &error);
    QVERIFY2(decoded, qPrintable(error.field + u": "_s + error.reason));
    QVERIFY(*decoded == message);
    QCOMPARE(decoded->toCbor(), map);
}

// Decodes `message` as the typed message of `type`; the error when that fails.
template <typename T> std::optional<DecodeError> decodeError(const QCborMap &message)
{
    DecodeError error;
    if (T::fromCbor(message, &error))
        return std::nullopt;
    return error;
}

std::optional<DecodeError> decodeAs(MessageType type, const QCborMap &message)
{
    switch (type) {
    case MessageType::AuthRequired:
        return decodeError<AuthRequiredMessage>(message);
    case MessageType::Auth:
        return decodeError<AuthMessage>(message);
    case MessageType::AuthAck:
        return decodeError<AuthAckMessage>(message);
    case MessageType::AuthFail:
        return decodeError<AuthFailMessage>(message);
    case MessageType::Ping:
        return decodeError<PingMessage>(message);
    case MessageType::Pong:
        return decodeError<PongMessage>(message);
    case MessageType::ClientOp:
        return decodeError<ClientOpMessage>(message);
    case MessageType::OpBatch:
        return decodeError<OpBatchMessage>(message);
    case MessageType::OpAck:
        return decodeError<OpAckMessage>(message);
    case MessageType::OpRejected:
        return decodeError<OpRejectedMessage>(message);
    case MessageType::ServerEvent:
        return decodeError<ServerEventMessage>(message);
    case MessageType::ServerBatchEvent:
        return decodeError<ServerBatchEventMessage>(message);
    case MessageType::Batch: {
        const BatchDecodeResult batch = BatchContainer::decode(message);
        return batch.ok ? std::nullopt : std::optional<DecodeError>(batch.error);
    }
    case MessageType::QuerySub:
        return decodeError<QuerySubMessage>(message);
    case MessageType::QueryResp:
        return decodeError<QueryRespMessage>(message);
    case MessageType::QueryUpdate:
        return decodeError<QueryUpdateMessage>(message);
    case MessageType::QueryUnsub:
        return decodeError<QueryUnsubMessage>(message);
    case MessageType::SyncInit:
        return decodeError<SyncInitMessage>(message);
    case MessageType::SyncRespRoot:
        return decodeError<SyncRespRootMessage>(message);
    case MessageType::MerkleReqBucket:
        return decodeError<MerkleReqBucketMessage>(message);
    case MessageType::SyncRespBuckets:
        return decodeError<SyncRespBucketsMessage>(message);
    case MessageType::SyncRespLeaf:
        return decodeError<SyncRespLeafMessage>(message);
    case MessageType::SyncResetRequired:
        return decodeError<SyncResetRequiredMessage>(message);
    case MessageType::OrMapSyncInit:
        return decodeError<OrMapSyncInitMessage>(message);
    case MessageType::OrMapSyncRespRoot:
        return decodeError<OrMapSyncRespRootMessage>(message);
    case MessageType::OrMapMerkleReqBucket:
        return decodeError<OrMapMerkleReqBucketMessage>(message);
    case MessageType::OrMapSyncRespBuckets:
        return decodeError<OrMapSyncRespBucketsMessage>(message);
    case MessageType::OrMapSyncRespLeaf:
        return decodeError<OrMapSyncRespLeafMessage>(message);
    case MessageType::OrMapDiffRequest:
        return decodeError<OrMapDiffRequestMessage>(message);
    case MessageType::OrMapDiffResponse:
        return decodeError<OrMapDiffResponseMessage>(message);
    case MessageType::OrMapPushDiff:
        return decodeError<OrMapPushDiffMessage>(message);
    case MessageType::ShutdownPending:
        return decodeError<ShutdownPendingMessage>(message);
    case MessageType::Error:
        return decodeError<ErrorMessage>(message);
    case MessageType::GcPrune:
        return decodeError<GcPruneMessage>(message);
    case MessageType::Search:
        return decodeError<SearchMessage>(message);
    case MessageType::SearchResp:
        return decodeError<SearchRespMessage>(message);
    case MessageType::SearchSub:
        return decodeError<SearchSubMessage>(message);
    case MessageType::SearchUpdate:
        return decodeError<SearchUpdateMessage>(message);
    case MessageType::SearchUnsub:
        return decodeError<SearchUnsubMessage>(message);
    case MessageType::TopicSub:
        return decodeError<TopicSubMessage>(message);
    case MessageType::TopicUnsub:
        return decodeError<TopicUnsubMessage>(message);
    case MessageType::TopicPub:
        return decodeError<TopicPubMessage>(message);
    case MessageType::TopicMessage:
        return decodeError<TopicMessage>(message);
    case MessageType::LockRequest:
        return decodeError<LockRequestMessage>(message);
    case MessageType::LockGranted:
        return decodeError<LockGrantedMessage>(message);
    case MessageType::LockRelease:
        return decodeError<LockReleaseMessage>(message);
    case MessageType::LockReleased:
        return decodeError<LockReleasedMessage>(message);
    case MessageType::CounterRequest:
        return decodeError<CounterRequestMessage>(message);
    case MessageType::CounterResponse:
        return decodeError<CounterResponseMessage>(message);
    case MessageType::CounterSync:
        return decodeError<CounterSyncMessage>(message);
    case MessageType::CounterUpdate:
        return decodeError<CounterUpdateMessage>(message);
    case MessageType::PartitionMapRequest:
        return decodeError<PartitionMapRequestMessage>(message);
    case MessageType::PartitionMap:
        return decodeError<PartitionMapMessage>(message);
    case MessageType::EntryProcess:
        return decodeError<EntryProcessMessage>(message);
    case MessageType::EntryProcessResponse:
        return decodeError<EntryProcessResponseMessage>(message);
    case MessageType::EntryProcessBatch:
        return decodeError<EntryProcessBatchMessage>(message);
    case MessageType::EntryProcessBatchResponse:
        return decodeError<EntryProcessBatchResponseMessage>(message);
    case MessageType::RegisterResolver:
        return decodeError<RegisterResolverMessage>(message);
    case MessageType::RegisterResolverResponse:
        return decodeError<RegisterResolverResponseMessage>(message);
    case MessageType::UnregisterResolver:
        return decodeError<UnregisterResolverMessage>(message);
    case MessageType::UnregisterResolverResponse:
        return decodeError<UnregisterResolverResponseMessage>(message);
    case MessageType::ListResolvers:
        return decodeError<ListResolversMessage>(message);
    case MessageType::ListResolversResponse:
        return decodeError<ListResolversResponseMessage>(message);
    case MessageType::MergeRejected:
        return decodeError<MergeRejectedMessage>(message);
    case MessageType::JournalSubscribe:
        return decodeError<JournalSubscribeMessage>(message);
    case MessageType::JournalUnsubscribe:
        return decodeError<JournalUnsubscribeMessage>(message);
    case MessageType::JournalEvent:
        return decodeError<JournalEventMessage>(message);
    case MessageType::JournalRead:
        return decodeError<JournalReadMessage>(message);
    case MessageType::JournalReadResponse:
        return decodeError<JournalReadResponseMessage>(message);
    }
    return DecodeError {};
}

QList<MessageType> allMessageTypes()
{
    QList<MessageType> types;
    for (int i = 0; i <= int(MessageType::JournalReadResponse); ++i)
        types.append(MessageType(i));
    return types;
}

// A full, valid OP_BATCH map whose parts the schema tests spoil one at a time.
QCborMap validOpBatch()
{
    OpBatchMessage batch;
    batch.ops = { putOp(u"1"_s, u"a"_s), putOp(u"2"_s, u"b"_s) };
    return batch.toCbor();
}

QCborMap withPath(QCborMap map, const QStringList &path, const QCborValue &value)
{
    if (path.size() == 1) {
        if (value.isInvalid())
            map.remove(path.first());
        else
            map.insert(path.first(), value);
        return map;
    }
    const QString head = path.first();
    const QCborValue child = map.value(head);
    const QStringList rest = path.mid(1);
    if (child.isArray()) {
        QCborArray array = child.toArray();
        const qsizetype index = rest.first().toLongLong();
        if (rest.size() == 1) {
            array[index] = value;
        } else {
            array[index] = withPath(array.at(index).toMap(), rest.mid(1), value);
        }
        map.insert(head, array);
        return map;
    }
    map.insert(head, withPath(child.toMap(), rest, value));
    return map;
}

QCborMap spoil(const QCborMap &map, const char *dottedPath, const QCborValue &value)
{
    return withPath(map, QString::fromLatin1(dottedPath).split(u'.'), value);
}

const QCborValue kRemove = QCborValue(QCborValue::Invalid);

} // namespace

class TestMessages : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void typeNames();
    void enumNames();
    void roundTrip_data();
    void roundTrip();
    void decodesTopGunClientOp();
    void numbersAcceptAnyEncoding_data();
    void numbersAcceptAnyEncoding();
    void absentAndNullOptionals();
    void effectiveOpType_data();
    void effectiveOpType();
    void schemaErrorsNameTheField_data();
    void schemaErrorsNameTheField();
    void pongNeverCarriesTimestamp();
    void envelopeTimestampIsAnHlcMapWithFloatMillis();
    void authTokenInPayload();
    void helpersReportRelativeFields();
    void directEncodingMatchesCborForm();
    void shapeWritersMatchCborForm();
};

void TestMessages::typeNames()
{
    for (MessageType type : allMessageTypes()) {
        const QLatin1StringView name = messageTypeName(type);
        QVERIFY(!name.isEmpty());
        QVERIFY(messageTypeFromName(QString(name)) == type);
    }
    QVERIFY(messageTypeFromName(u"OP_BATCH") == MessageType::OpBatch);
    QVERIFY(messageTypeName(MessageType::OrMapPushDiff) == "ORMAP_PUSH_DIFF"_L1);
    QVERIFY(!messageTypeFromName(u"op_batch"));
    QVERIFY(!messageTypeFromName(u""));
    QVERIFY(!messageTypeFromName(u"CLUSTER_SUB_REGISTER"));
}

void TestMessages::enumNames()
{
    QVERIFY(writeConcernName(WriteConcern::FireAndForget) == "FIRE_AND_FORGET"_L1);
    QVERIFY(writeConcernFromName(u"PERSISTED") == WriteConcern::Persisted);
    QVERIFY(!writeConcernFromName(u"persisted"));
    QVERIFY(opTypeName(OpType::OrRemove) == "OR_REMOVE"_L1);
    QVERIFY(opTypeFromName(u"OR_ADD") == OpType::OrAdd);
    QVERIFY(serverEventTypeFromName(u"UPDATED") == ServerEventType::Updated);
    QVERIFY(queryChangeName(QueryChange::Enter) == "ENTER"_L1);
    QVERIFY(!queryChangeFromName(u"LEAVE"));
}

void TestMessages::roundTrip_data()
{
    QTest::addColumn<MessageType>("type");
    for (MessageType type : allMessageTypes()) {
        if (type != MessageType::Batch) // BatchContainer's, covered by tst_batchcontainer
            QTest::newRow(messageTypeName(type).data()) << type;
    }
}

void TestMessages::roundTrip()
{
    QFETCH(MessageType, type);
    switch (type) {
    case MessageType::AuthRequired:
        verifyRoundTrip(AuthRequiredMessage { kEnvelope });
        break;
    case MessageType::Auth:
        verifyRoundTrip(AuthMessage { u"eyJhbGciOiJIUzI1NiJ9.e30.sig"_s, 2 });
        break;
    case MessageType::AuthAck:
        verifyRoundTrip(AuthAckMessage { 1, kEnvelope });
        break;
    case MessageType::AuthFail:
        verifyRoundTrip(AuthFailMessage { u"Invalid token"_s, std::nullopt });
        break;
    case MessageType::Ping:
        verifyRoundTrip(PingMessage { 1700000000000 });
        break;
    case MessageType::Pong:
        verifyRoundTrip(PongMessage { 1700000000123 });
        break;
    case MessageType::ClientOp: {
        ClientOp op = putOp(u"7"_s, u"todo:7"_s);
        op.writeConcern = WriteConcern::Persisted;
        op.timeout = 5000;
        verifyRoundTrip(ClientOpMessage { op });
        break;
    }
    case MessageType::OpBatch: {
        ClientOp remove = putOp(u"2"_s, u"b"_s);
        remove.opType = OpType::Remove;
        remove.record = lww(QCborValue(nullptr));
        ClientOp orAdd;
        orAdd.id = u"3"_s;
        orAdd.mapName = u"tags"_s;
        orAdd.key = u"k"_s;
        orAdd.opType = OpType::OrAdd;
        orAdd.orRecord = orRecord(u"red"_s, u"1700000000005:0:n1"_s);
        ClientOp orRemove = orAdd;
        orRemove.id = u"4"_s;
        orRemove.opType = OpType::OrRemove;
        orRemove.orRecord.reset();
        orRemove.orTag = u"1700000000005:0:n1"_s;
        verifyRoundTrip(OpBatchMessage {
            { putOp(u"1"_s, u"a"_s), remove, orAdd, orRemove }, WriteConcern::Applied, 10000 });
        break;
    }
    case MessageType::OpAck:
        verifyRoundTrip(OpAckMessage { u"100"_s, WriteConcern::Persisted,
            QList<OpResult> { { u"99"_s, true, WriteConcern::Persisted, std::nullopt },
                { u"100"_s, false, WriteConcern::Memory, u"denied"_s } },
            kEnvelope });
        break;
    case MessageType::OpRejected:
        verifyRoundTrip(OpRejectedMessage { u"5"_s, u"Access denied"_s, 403, std::nullopt });
        break;
    case MessageType::ServerEvent:
        verifyRoundTrip(ServerEventMessage {
            { u"todos"_s, ServerEventType::Put, u"todo:1"_s, lww(u"x"_s, 60000), {}, {} },
            kEnvelope });
        break;
    case MessageType::ServerBatchEvent:
        verifyRoundTrip(ServerBatchEventMessage {
            { { u"todos"_s, ServerEventType::Remove, u"a"_s, lww(QCborValue(nullptr)), {}, {} },
                { u"tags"_s, ServerEventType::OrAdd, u"k"_s, {}, orRecord(1, u"t1"_s), {} },
                { u"tags"_s, ServerEventType::OrRemove, u"k"_s, {}, {}, u"t1"_s } },
            kEnvelope });
        break;
    case MessageType::QuerySub:
        verifyRoundTrip(QuerySubMessage { u"q1"_s, u"todos"_s,
            QCborMap { { "where"_L1, QCborMap { { "done"_L1, false } } },
                { "predicate"_L1,
                    QCborMap { { "op"_L1, "and"_L1 },
                        { "children"_L1,
                            QCborArray { QCborMap { { "op"_L1, "gt"_L1 },
                                { "attribute"_L1, "n"_L1 }, { "value"_L1, 3 } } } } } },
                { "sort"_L1, QCborMap { { "n"_L1, "desc"_L1 } } }, { "limit"_L1, 10 } } });
        break;
    case MessageType::QueryResp:
        verifyRoundTrip(QueryRespMessage { u"q1"_s,
            { { u"a"_s, QCborMap { { "n"_L1, 1 } } }, { u"b"_s, QCborValue(nullptr) } },
            u"cursor-2"_s, true, u"valid"_s, kEnvelope });
        break;
    case MessageType::QueryUpdate:
        verifyRoundTrip(QueryUpdateMessage {
            u"q1"_s, u"a"_s, QCborMap { { "n"_L1, 2 } }, QueryChange::Enter, std::nullopt });
        break;
    case MessageType::QueryUnsub:
        verifyRoundTrip(QueryUnsubMessage { u"q1"_s });
        break;
    case MessageType::SyncInit:
        verifyRoundTrip(SyncInitMessage { u"todos"_s, 1700000000000 });
        break;
    case MessageType::SyncRespRoot:
        verifyRoundTrip(SyncRespRootMessage {
            u"todos"_s, 2212673935u, ts(1700000000002, 0, u"server-1"_s), kEnvelope });
        break;
    case MessageType::MerkleReqBucket:
        verifyRoundTrip(MerkleReqBucketMessage { u"todos"_s, u"3a"_s });
        break;
    case MessageType::SyncRespBuckets:
        verifyRoundTrip(SyncRespBucketsMessage {
            u"todos"_s, u""_s, { { u"3"_s, 2212673935u }, { u"f"_s, 0u } }, kEnvelope });
        break;
    case MessageType::SyncRespLeaf:
        verifyRoundTrip(SyncRespLeafMessage { u"todos"_s, u"374"_s,
            { { u"key1"_s, lww(u"v"_s) }, { u"key2"_s, lww(QCborValue(nullptr)) } }, kEnvelope });
        break;
    case MessageType::SyncResetRequired:
        verifyRoundTrip(
            SyncResetRequiredMessage { u"todos"_s, u"lastSyncTimestamp too old"_s, std::nullopt });
        break;
    case MessageType::OrMapSyncInit:
        verifyRoundTrip(OrMapSyncInitMessage {
            u"tags"_s, 4259386581u, { { u"0"_s, 12u }, { u"e"_s, 4259386569u } }, 1700000000000 });
        break;
    case MessageType::OrMapSyncRespRoot:
        verifyRoundTrip(OrMapSyncRespRootMessage { u"tags"_s, 1u, ts(1, 2, u"s"_s), kEnvelope });
        break;
    case MessageType::OrMapMerkleReqBucket:
        verifyRoundTrip(OrMapMerkleReqBucketMessage { u"tags"_s, u"e"_s });
        break;
    case MessageType::OrMapSyncRespBuckets:
        verifyRoundTrip(
            OrMapSyncRespBucketsMessage { u"tags"_s, u"e"_s, { { u"1"_s, 5u } }, kEnvelope });
        break;
    case MessageType::OrMapSyncRespLeaf:
        verifyRoundTrip(OrMapSyncRespLeafMessage { u"tags"_s, u"e12"_s, { orEntry() }, kEnvelope });
        break;
    case MessageType::OrMapDiffRequest:
        verifyRoundTrip(OrMapDiffRequestMessage { u"tags"_s, { u"a"_s, u"b"_s } });
        break;
    case MessageType::OrMapDiffResponse:
        verifyRoundTrip(
            OrMapDiffResponseMessage { u"tags"_s, { orEntry(), orEntry() }, kEnvelope });
        break;
    case MessageType::OrMapPushDiff:
        verifyRoundTrip(OrMapPushDiffMessage { u"tags"_s, { orEntry() } });
        break;
    case MessageType::ShutdownPending:
        verifyRoundTrip(ShutdownPendingMessage { 5000, std::nullopt });
        break;
    case MessageType::Error:
        verifyRoundTrip(ErrorMessage {
            403, u"Access denied"_s, QCborMap { { "mapName"_L1, "secret"_L1 } }, kEnvelope });
        verifyRoundTrip(ErrorMessage {
            400, u"Invalid message format"_s, QCborValue(QCborValue::Undefined), std::nullopt });
        break;
    case MessageType::GcPrune:
        verifyRoundTrip(GcPruneMessage { ts(1690000000000, 0, u""_s), kEnvelope });
        break;
    case MessageType::Search:
        verifyRoundTrip(SearchMessage { u"r1"_s, u"articles"_s, u"machine learning"_s,
            SearchOptions { 10, 0.5, QMap<QString, double> { { u"title"_s, 2.0 } } } });
        verifyRoundTrip(SearchMessage { u"r2"_s, u"articles"_s, u"x"_s, std::nullopt });
        break;
    case MessageType::SearchResp:
        verifyRoundTrip(SearchRespMessage { u"r1"_s,
            { SearchResult {
                u"a"_s, QCborMap { { "title"_L1, "ML"_L1 } }, 1.25, { u"machin"_s, u"learn"_s } } },
            1, std::nullopt });
        verifyRoundTrip(SearchRespMessage { u"r2"_s, {}, 0, u"Access denied for map: m"_s });
        break;
    case MessageType::SearchSub:
        verifyRoundTrip(SearchSubMessage { u"s1"_s, u"articles"_s, u"deep"_s,
            SearchOptions { std::nullopt, 0.25, std::nullopt } });
        break;
    case MessageType::SearchUpdate:
        verifyRoundTrip(SearchUpdateMessage { u"s1"_s, u"a"_s, QCborMap { { "title"_L1, "x"_L1 } },
            0.75, { u"deep"_s }, SearchChange::Enter });
        verifyRoundTrip(SearchUpdateMessage {
            u"s1"_s, u"a"_s, QCborValue(nullptr), 0, {}, SearchChange::Leave });
        break;
    case MessageType::SearchUnsub:
        verifyRoundTrip(SearchUnsubMessage { u"s1"_s });
        break;
    case MessageType::TopicSub:
        verifyRoundTrip(TopicSubMessage { u"news/eu"_s });
        break;
    case MessageType::TopicUnsub:
        verifyRoundTrip(TopicUnsubMessage { u"news/eu"_s });
        break;
    case MessageType::TopicPub:
        verifyRoundTrip(TopicPubMessage { u"news"_s, QCborMap { { "a"_L1, 1 } } });
        break;
    case MessageType::TopicMessage:
        verifyRoundTrip(
            TopicMessage { u"news"_s, QCborArray { 1, u"x"_s }, u"7"_s, 1700000000000 });
        break;
    case MessageType::LockRequest:
        verifyRoundTrip(LockRequestMessage { u"r1"_s, u"jobs"_s, 5000 });
        verifyRoundTrip(LockRequestMessage { u"r1"_s, u"jobs"_s, std::nullopt });
        break;
    case MessageType::LockGranted:
        verifyRoundTrip(LockGrantedMessage { u"r1"_s, u"jobs"_s, 1700000000000001 });
        break;
    case MessageType::LockRelease:
        verifyRoundTrip(LockReleaseMessage { u"r2"_s, u"jobs"_s, 1700000000000001 });
        break;
    case MessageType::LockReleased:
        verifyRoundTrip(LockReleasedMessage { u"r2"_s, u"jobs"_s, true });
        break;
    case MessageType::CounterRequest:
        verifyRoundTrip(CounterRequestMessage { u"likes"_s });
        break;
    case MessageType::CounterResponse:
        verifyRoundTrip(CounterResponseMessage { u"likes"_s, QCborMap { { "p"_L1, QCborMap() } } });
        break;
    case MessageType::CounterSync:
        verifyRoundTrip(
            CounterSyncMessage { u"likes"_s, QCborMap { { "positive"_L1, QCborMap() } } });
        break;
    case MessageType::CounterUpdate:
        verifyRoundTrip(CounterUpdateMessage { u"likes"_s, QCborMap { { "n"_L1, QCborMap() } } });
        break;
    case MessageType::PartitionMapRequest:
        verifyRoundTrip(PartitionMapRequestMessage { QCborMap { { "currentVersion"_L1, 3 } } });
        verifyRoundTrip(PartitionMapRequestMessage {});
        break;
    case MessageType::PartitionMap:
        verifyRoundTrip(PartitionMapMessage { 2, 271,
            QCborArray { QCborMap { { "nodeId"_L1, "a"_L1 }, { "status"_L1, "ACTIVE"_L1 } } },
            QCborArray { QCborMap { { "partitionId"_L1, 0 }, { "ownerNodeId"_L1, "a"_L1 } } },
            1700000000000 });
        break;
    case MessageType::EntryProcess:
        verifyRoundTrip(EntryProcessMessage { u"r1"_s, u"m"_s, u"k"_s,
            QCborMap { { "name"_L1, "inc"_L1 }, { "code"_L1, "return {value: 1}"_L1 } } });
        break;
    case MessageType::EntryProcessResponse:
        verifyRoundTrip(EntryProcessResponseMessage { u"r1"_s, true, 1, 2, std::nullopt });
        verifyRoundTrip(EntryProcessResponseMessage { u"r1"_s, false,
            QCborValue(QCborValue::Undefined), QCborValue(QCborValue::Undefined), u"boom"_s });
        break;
    case MessageType::EntryProcessBatch:
        verifyRoundTrip(EntryProcessBatchMessage { u"r1"_s, u"m"_s, { u"a"_s, u"b"_s },
            QCborMap { { "name"_L1, "inc"_L1 }, { "code"_L1, "return {value: 1}"_L1 } } });
        break;
    case MessageType::EntryProcessBatchResponse:
        verifyRoundTrip(EntryProcessBatchResponseMessage { u"r1"_s,
            QCborMap { { "a"_L1, QCborMap { { "success"_L1, true }, { "result"_L1, 1 } } } } });
        break;
    case MessageType::RegisterResolver:
        verifyRoundTrip(RegisterResolverMessage { u"r1"_s, u"m"_s,
            QCborMap { { "name"_L1, "r"_L1 }, { "code"_L1, "return {action:'local'}"_L1 } } });
        break;
    case MessageType::RegisterResolverResponse:
        verifyRoundTrip(RegisterResolverResponseMessage { u"r1"_s, false, u"no"_s });
        break;
    case MessageType::UnregisterResolver:
        verifyRoundTrip(UnregisterResolverMessage { u"r1"_s, u"m"_s, u"r"_s });
        break;
    case MessageType::UnregisterResolverResponse:
        verifyRoundTrip(UnregisterResolverResponseMessage { u"r1"_s, true, std::nullopt });
        break;
    case MessageType::ListResolvers:
        verifyRoundTrip(ListResolversMessage { u"r1"_s, u"m"_s });
        verifyRoundTrip(ListResolversMessage { u"r1"_s, std::nullopt });
        break;
    case MessageType::ListResolversResponse:
        verifyRoundTrip(ListResolversResponseMessage {
            u"r1"_s, { ResolverInfo { u"m"_s, u"r"_s, 50, u"user:*"_s } } });
        break;
    case MessageType::MergeRejected:
        verifyRoundTrip(
            MergeRejectedMessage { u"m"_s, u"k"_s, 5, u"no"_s, ts(1690000000000, 1, u"c"_s) });
        break;
    case MessageType::JournalSubscribe:
        verifyRoundTrip(JournalSubscribeMessage {
            u"sub-1"_s, u"17"_s, u"todos"_s, QStringList { u"PUT"_s, u"DELETE"_s } });
        verifyRoundTrip(JournalSubscribeMessage { u"sub-2"_s, {}, {}, {} });
        break;
    case MessageType::JournalUnsubscribe:
        verifyRoundTrip(JournalUnsubscribeMessage { u"sub-1"_s });
        break;
    case MessageType::JournalEvent:
        verifyRoundTrip(JournalEventMessage { journalEvent() });
        break;
    case MessageType::JournalRead:
        verifyRoundTrip(JournalReadMessage { u"r-1"_s, u"0"_s, 10, u"todos"_s });
        verifyRoundTrip(JournalReadMessage { u"r-2"_s, u"5"_s, {}, {} });
        break;
    case MessageType::JournalReadResponse:
        verifyRoundTrip(JournalReadResponseMessage { u"r-1"_s, { journalEvent() }, true });
        break;
    case MessageType::Batch:
        QFAIL("not a typed message");
    }
}

void TestMessages::decodesTopGunClientOp()
{
    // CLIENT_OP as msgpackr writes it: millis float64, undefined orRecord as fixext1 type 0.
    const QByteArray frame = hex("82"
                                 "a474797065a9434c49454e545f4f50"
                                 "a77061796c6f616484"
                                 "a76d61704e616d65a16d"
                                 "a36b6579a16b"
                                 "a67265636f726482"
                                 "a576616c756501"
                                 "a974696d657374616d7083"
                                 "a66d696c6c6973cb4278bcfe56800000"
                                 "a7636f756e74657200"
                                 "a66e6f64654964a16e"
                                 "a86f725265636f7264d40000");
    const FrameDecodeResult decoded = Frame::decode(frame);
    QVERIFY2(decoded.ok(), qPrintable(decoded.error.reason));
    QCOMPARE(decoded.type, u"CLIENT_OP"_s);
    DecodeError error;
    const std::optional<ClientOpMessage> message
        = ClientOpMessage::fromCbor(decoded.message, &error);
    QVERIFY2(message, qPrintable(error.field + u": "_s + error.reason));
    const ClientOp &op = message->op;
    QCOMPARE(op.mapName, u"m"_s);
    QCOMPARE(op.key, u"k"_s);
    QVERIFY(!op.id);
    QVERIFY(!op.opType);
    QVERIFY(!op.orRecord);
    QVERIFY(op.record);
    QCOMPARE(op.record->value, QCborValue(1));
    QCOMPARE(op.record->timestamp.millis, 1700000000000);
    QCOMPARE(op.record->timestamp.counter, 0);
    QCOMPARE(op.record->timestamp.nodeId, u"n"_s);
    QCOMPARE(op.effectiveType(), OpType::Put);
}

void TestMessages::numbersAcceptAnyEncoding_data()
{
    QTest::addColumn<QByteArray>("millis");
    QTest::addColumn<QByteArray>("counter");
    QTest::addColumn<qint64>("expectedMillis");
    QTest::addColumn<int>("expectedCounter");

    QTest::newRow("float64 millis, fixint counter")
        << hex("cb4278bcfe56800000") << hex("05") << qint64(1700000000000) << 5;
    QTest::newRow("uint64 millis")
        << hex("cf0000018bcfe56800") << hex("cc80") << qint64(1700000000000) << 128;
    QTest::newRow("int64 millis") << hex("d30000018bcfe56800") << hex("d0ff")
                                  << qint64(1700000000000) << -1;
    QTest::newRow("uint32 millis, float64 counter")
        << hex("ce00011170") << hex("cb4008000000000000") << qint64(70000) << 3;
    QTest::newRow("float32 counter") << hex("00") << hex("ca40400000") << qint64(0) << 3;
    QTest::newRow("uint16 counter") << hex("7f") << hex("cd0100") << qint64(127) << 256;
}

void TestMessages::numbersAcceptAnyEncoding()
{
    QFETCH(QByteArray, millis);
    QFETCH(QByteArray, counter);
    QFETCH(qint64, expectedMillis);
    QFETCH(int, expectedCounter);
    // {millis, counter, nodeId:'n'}
    const QByteArray bytes = hex("83a66d696c6c6973") + millis + hex("a7636f756e746572") + counter
        + hex("a66e6f64654964a16e");
    const DecodeResult decoded = wire::MsgPackCodec::decode(bytes);
    QVERIFY2(decoded.ok, qPrintable(decoded.error.reason));
    DecodeError error;
    const std::optional<crdt::Timestamp> timestamp = timestampFromCbor(decoded.value, &error);
    QVERIFY2(timestamp, qPrintable(error.field + u": "_s + error.reason));
    QCOMPARE(timestamp->millis, expectedMillis);
    QCOMPARE(timestamp->counter, expectedCounter);
}

void TestMessages::absentAndNullOptionals()
{
    QCborMap payload = putOp(u"1"_s, u"a"_s).toCbor();
    payload.insert("orRecord"_L1, nullptr);
    payload.insert("orTag"_L1, nullptr);
    payload.insert("writeConcern"_L1, QCborValue(QCborValue::Undefined));
    payload.insert("timeout"_L1, QCborValue(QCborValue::Undefined));
    QCborMap message { { "type"_L1, "CLIENT_OP"_L1 }, { "payload"_L1, payload } };
    DecodeError error;
    const std::optional<ClientOpMessage> decoded = ClientOpMessage::fromCbor(message, &error);
    QVERIFY2(decoded, qPrintable(error.field + u": "_s + error.reason));
    QVERIFY(!decoded->op.orRecord);
    QVERIFY(!decoded->op.orTag);
    QVERIFY(!decoded->op.writeConcern);
    QVERIFY(!decoded->op.timeout);

    // A record value that is absent, undefined or nil is a tombstone, written back as nil.
    for (const QCborValue &value : { QCborValue(QCborValue::Undefined), QCborValue(nullptr) }) {
        QCborMap record = lwwRecordToCbor(lww(1));
        record.insert("value"_L1, value);
        const std::optional<crdt::LwwRecord> tombstone = lwwRecordFromCbor(record);
        QVERIFY(tombstone);
        QVERIFY(tombstone->value.isNull());
        QVERIFY(tombstone->isTombstone());
        QCOMPARE(lwwRecordToCbor(*tombstone).value("value"_L1), QCborValue(nullptr));
    }
    QCborMap record = lwwRecordToCbor(lww(1));
    record.remove("value"_L1);
    QVERIFY(lwwRecordFromCbor(record)->isTombstone());
}

void TestMessages::effectiveOpType_data()
{
    QTest::addColumn<std::optional<OpType>>("opType");
    QTest::addColumn<bool>("record");
    QTest::addColumn<bool>("nilValue");
    QTest::addColumn<bool>("orRecord");
    QTest::addColumn<bool>("orTag");
    QTest::addColumn<OpType>("expected");

    const std::optional<OpType> none;
    QTest::newRow("PUT") << std::optional(OpType::Put) << true << false << false << false
                         << OpType::Put;
    QTest::newRow("PUT with nil value removes")
        << std::optional(OpType::Put) << true << true << false << false << OpType::Remove;
    QTest::newRow("no opType, value") << none << true << false << false << false << OpType::Put;
    QTest::newRow("no opType, nil value removes")
        << none << true << true << false << false << OpType::Remove;
    QTest::newRow("REMOVE") << std::optional(OpType::Remove) << true << true << false << false
                            << OpType::Remove;
    QTest::newRow("REMOVE without record")
        << std::optional(OpType::Remove) << false << false << false << false << OpType::Remove;
    QTest::newRow("OR_ADD") << std::optional(OpType::OrAdd) << false << false << true << false
                            << OpType::OrAdd;
    QTest::newRow("OR_REMOVE") << std::optional(OpType::OrRemove) << false << false << false << true
                               << OpType::OrRemove;
    QTest::newRow("no opType, orRecord")
        << none << false << false << true << false << OpType::OrAdd;
    QTest::newRow("no opType, orTag")
        << none << false << false << false << true << OpType::OrRemove;
}

void TestMessages::effectiveOpType()
{
    QFETCH(std::optional<OpType>, opType);
    QFETCH(bool, record);
    QFETCH(bool, nilValue);
    QFETCH(bool, orRecord);
    QFETCH(bool, orTag);
    QFETCH(OpType, expected);

    ClientOp op;
    op.mapName = u"m"_s;
    op.key = u"k"_s;
    op.opType = opType;
    if (record)
        op.record = lww(nilValue ? QCborValue(nullptr) : QCborValue(1));
    if (orRecord)
        op.orRecord = ::orRecord(1, u"t"_s);
    if (orTag)
        op.orTag = u"t"_s;
    QCOMPARE(op.effectiveType(), expected);
    QCOMPARE(op.isRemove(), expected == OpType::Remove);
    // The same op survives the wire and keeps its meaning.
    const std::optional<ClientOp> decoded = ClientOp::fromCbor(op.toCbor());
    QVERIFY(decoded);
    QCOMPARE(decoded->effectiveType(), expected);
}

void TestMessages::schemaErrorsNameTheField_data()
{
    QTest::addColumn<MessageType>("type");
    QTest::addColumn<QCborMap>("message");
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("reasonPart");

    const QCborMap batch = validOpBatch();
    const auto add = [](const char *name, MessageType type, const QCborMap &message,
                         const char *field, const char *reason) {
        QTest::newRow(name) << type << message << QString::fromLatin1(field)
                            << QString::fromLatin1(reason);
    };
    add("wrong type", MessageType::OpBatch, QCborMap { { "type"_L1, "PING"_L1 } }, "type",
        "OP_BATCH");
    add("no type", MessageType::OpBatch, spoil(batch, "type", kRemove), "type", "OP_BATCH");
    add("no payload", MessageType::OpBatch, spoil(batch, "payload", kRemove), "payload",
        "required");
    add("payload not a map", MessageType::OpBatch, spoil(batch, "payload", 5), "payload", "map");
    add("ops not an array", MessageType::OpBatch, spoil(batch, "payload.ops", "x"_L1),
        "payload.ops", "array");
    add("op not a map", MessageType::OpBatch, spoil(batch, "payload.ops.1", 3), "payload.ops.1",
        "map");
    add("op without mapName", MessageType::OpBatch, spoil(batch, "payload.ops.1.mapName", kRemove),
        "payload.ops.1.mapName", "required");
    add("key not a string", MessageType::OpBatch, spoil(batch, "payload.ops.0.key", 12),
        "payload.ops.0.key", "string");
    add("id not a string", MessageType::OpBatch, spoil(batch, "payload.ops.0.id", 1),
        "payload.ops.0.id", "string");
    add("unknown opType", MessageType::OpBatch, spoil(batch, "payload.ops.0.opType", "BOGUS"_L1),
        "payload.ops.0.opType", "unknown value 'BOGUS'");
    add("PUT without record", MessageType::OpBatch, spoil(batch, "payload.ops.0.record", kRemove),
        "payload.ops.0.record", "PUT");
    add("record not a map", MessageType::OpBatch, spoil(batch, "payload.ops.0.record", "x"_L1),
        "payload.ops.0.record", "map");
    add("millis a string", MessageType::OpBatch,
        spoil(batch, "payload.ops.0.record.timestamp.millis", "1"_L1),
        "payload.ops.0.record.timestamp.millis", "number");
    add("millis fractional", MessageType::OpBatch,
        spoil(batch, "payload.ops.1.record.timestamp.millis", 1.5),
        "payload.ops.1.record.timestamp.millis", "integer");
    add("millis infinite", MessageType::OpBatch,
        spoil(batch, "payload.ops.1.record.timestamp.millis", qInf()),
        "payload.ops.1.record.timestamp.millis", "integer");
    add("millis beyond int64 (uint64 max)", MessageType::OpBatch,
        spoil(batch, "payload.ops.0.record.timestamp.millis",
            QCborValue(QCborKnownTags::PositiveBignum, QByteArray(8, '\xff'))),
        "payload.ops.0.record.timestamp.millis", "64-bit range");
    add("counter beyond int32", MessageType::OpBatch,
        spoil(batch, "payload.ops.0.record.timestamp.counter", 1LL << 40),
        "payload.ops.0.record.timestamp.counter", "32-bit");
    add("nodeId missing", MessageType::OpBatch,
        spoil(batch, "payload.ops.0.record.timestamp.nodeId", kRemove),
        "payload.ops.0.record.timestamp.nodeId", "required");
    add("ttlMs a string", MessageType::OpBatch, spoil(batch, "payload.ops.0.record.ttlMs", "1"_L1),
        "payload.ops.0.record.ttlMs", "number");
    add("writeConcern unknown", MessageType::OpBatch,
        spoil(batch, "payload.writeConcern", "ALWAYS"_L1), "payload.writeConcern", "unknown");
    add("timeout a bool", MessageType::OpBatch, spoil(batch, "payload.timeout", true),
        "payload.timeout", "number");

    QCborMap orAdd = spoil(batch, "payload.ops.0.opType", "OR_ADD"_L1);
    add("OR_ADD without orRecord", MessageType::OpBatch, orAdd, "payload.ops.0.orRecord", "OR_ADD");
    add("OR_REMOVE without orTag", MessageType::OpBatch,
        spoil(batch, "payload.ops.0.opType", "OR_REMOVE"_L1), "payload.ops.0.orTag", "OR_REMOVE");

    add("SYNC_INIT without mapName", MessageType::SyncInit,
        QCborMap { { "type"_L1, "SYNC_INIT"_L1 } }, "mapName", "required");
    add("SYNC_INIT bad lastSyncTimestamp", MessageType::SyncInit,
        QCborMap { { "type"_L1, "SYNC_INIT"_L1 }, { "mapName"_L1, "m"_L1 },
            { "lastSyncTimestamp"_L1, "yesterday"_L1 } },
        "lastSyncTimestamp", "number");
    add("SYNC_RESP_ROOT hash out of range", MessageType::SyncRespRoot,
        spoil(SyncRespRootMessage { u"m"_s, 1, ts(1, 0, u"n"_s), {} }.toCbor(), "payload.rootHash",
            1LL << 33),
        "payload.rootHash", "32-bit");
    add("ORMAP_SYNC_INIT bucket not a number", MessageType::OrMapSyncInit,
        QCborMap { { "type"_L1, "ORMAP_SYNC_INIT"_L1 }, { "mapName"_L1, "m"_L1 },
            { "rootHash"_L1, 1 }, { "bucketHashes"_L1, QCborMap { { "a"_L1, "x"_L1 } } } },
        "bucketHashes", "'a'");
    const QCborMap leaf = OrMapSyncRespLeafMessage { u"m"_s, u"e"_s, { orEntry() }, {} }.toCbor();
    add("OR record without tag", MessageType::OrMapSyncRespLeaf,
        spoil(leaf, "payload.entries.0.records.1.tag", kRemove), "payload.entries.0.records.1.tag",
        "required");
    add("tombstone not a string", MessageType::OrMapSyncRespLeaf,
        spoil(leaf, "payload.entries.0.tombstones.0", 5), "payload.entries.0.tombstones.0",
        "string");
    add("ORMAP_DIFF_REQUEST keys not array", MessageType::OrMapDiffRequest,
        QCborMap { { "type"_L1, "ORMAP_DIFF_REQUEST"_L1 },
            { "payload"_L1, QCborMap { { "mapName"_L1, "m"_L1 }, { "keys"_L1, "a"_L1 } } } },
        "payload.keys", "array");
    add("AUTH without token", MessageType::Auth, QCborMap { { "type"_L1, "AUTH"_L1 } }, "token",
        "required");
    add("AUTH token not a string", MessageType::Auth,
        QCborMap { { "type"_L1, "AUTH"_L1 }, { "token"_L1, 5 } }, "token", "string");
    add("numeric envelope timestamp", MessageType::ServerEvent,
        spoil(ServerEventMessage { { u"m"_s, ServerEventType::Put, u"k"_s, lww(1), {}, {} }, {} }
                  .toCbor(),
            "timestamp", 1700000000000LL),
        "timestamp", "map");
    add("unknown eventType", MessageType::ServerEvent,
        spoil(ServerEventMessage { { u"m"_s, ServerEventType::Put, u"k"_s, lww(1), {}, {} }, {} }
                  .toCbor(),
            "payload.eventType", "MOVED"_L1),
        "payload.eventType", "unknown value");
    add("QUERY_SUB query not a map", MessageType::QuerySub,
        QCborMap { { "type"_L1, "QUERY_SUB"_L1 },
            { "payload"_L1,
                QCborMap { { "queryId"_L1, "q"_L1 }, { "mapName"_L1, "m"_L1 },
                    { "query"_L1, "all"_L1 } } } },
        "payload.query", "map");
    add("QUERY_UPDATE unknown change", MessageType::QueryUpdate,
        spoil(QueryUpdateMessage { u"q"_s, u"k"_s, 1, QueryChange::Update, {} }.toCbor(),
            "payload.type", "LEAVE"_L1),
        "payload.type", "unknown value");
    add("OP_ACK result without success", MessageType::OpAck,
        spoil(OpAckMessage { u"1"_s, {},
                  QList<OpResult> { { u"1"_s, true, WriteConcern::Applied, {} } }, {} }
                  .toCbor(),
            "payload.results.0.success", kRemove),
        "payload.results.0.success", "required");
    add("PONG without serverTime", MessageType::Pong, QCborMap { { "type"_L1, "PONG"_L1 } },
        "serverTime", "required");
    add("ERROR code a string", MessageType::Error,
        QCborMap { { "type"_L1, "ERROR"_L1 },
            { "payload"_L1, QCborMap { { "code"_L1, "400"_L1 }, { "message"_L1, "x"_L1 } } } },
        "payload.code", "number");
    add("GC_PRUNE olderThan missing", MessageType::GcPrune,
        QCborMap { { "type"_L1, "GC_PRUNE"_L1 }, { "payload"_L1, QCborMap {} } },
        "payload.olderThan", "required");
    add("SHUTDOWN_PENDING retryAfter missing", MessageType::ShutdownPending,
        QCborMap { { "type"_L1, "SHUTDOWN_PENDING"_L1 } }, "retryAfter", "required");
}

void TestMessages::schemaErrorsNameTheField()
{
    QFETCH(MessageType, type);
    QFETCH(QCborMap, message);
    QFETCH(QString, field);
    QFETCH(QString, reasonPart);
    const std::optional<DecodeError> error = decodeAs(type, message);
    QVERIFY2(error, "decoded although malformed");
    QCOMPARE(error->field, field);
    QVERIFY2(error->reason.contains(reasonPart), qPrintable(error->reason));
}

void TestMessages::pongNeverCarriesTimestamp()
{
    const QCborMap pong = PongMessage { 1700000000000 }.toCbor();
    QCOMPARE(pong, (QCborMap { { "type"_L1, "PONG"_L1 }, { "serverTime"_L1, 1700000000000LL } }));
    QVERIFY(!pong.contains("timestamp"_L1));
    // serverTime, like every large integer, goes out as float64 (never a BigInt for msgpackr).
    QVERIFY(Frame::encode(pong).contains(hex("aa73657276657254696d65cb4278bcfe56800000")));

    // A PING's numeric timestamp is the client's clock: read, never echoed.
    const std::optional<PingMessage> ping = PingMessage::fromCbor(
        QCborMap { { "type"_L1, "PING"_L1 }, { "timestamp"_L1, 1700000000000.0 } });
    QVERIFY(ping);
    QVERIFY(ping->timestamp == 1700000000000);
    QVERIFY(PingMessage::fromCbor(QCborMap { { "type"_L1, "PING"_L1 } }));
}

void TestMessages::envelopeTimestampIsAnHlcMapWithFloatMillis()
{
    ServerEventMessage event { { u"m"_s, ServerEventType::Put, u"k"_s, lww(1), {}, {} },
        kEnvelope };
    const QCborMap map = event.toCbor();
    const QCborMap timestamp = map.value("timestamp"_L1).toMap();
    QCOMPARE(timestamp,
        (QCborMap { { "millis"_L1, 1700000000100LL }, { "counter"_L1, 7 },
            { "nodeId"_L1, "server-1"_L1 } }));
    const QByteArray wire = Frame::encode(map);
    // "millis" followed by a float64, never uint64/int64 (0xcf/0xd3).
    QVERIFY(wire.contains(hex("a66d696c6c6973cb")));
    QVERIFY(!wire.contains(hex("a66d696c6c6973cf")));
    QVERIFY(!wire.contains(hex("a66d696c6c6973d3")));

    event.envelopeTimestamp.reset();
    QVERIFY(!event.toCbor().contains("timestamp"_L1));
}

void TestMessages::authTokenInPayload()
{
    const std::optional<AuthMessage> inPayload = AuthMessage::fromCbor(QCborMap {
        { "type"_L1, "AUTH"_L1 }, { "payload"_L1, QCborMap { { "token"_L1, "abc"_L1 } } } });
    QVERIFY(inPayload);
    QCOMPARE(inPayload->token, u"abc"_s);
    QCOMPARE(inPayload->toCbor().value("token"_L1), QCborValue("abc"_L1));

    DecodeError error;
    QVERIFY(!AuthMessage::fromCbor(
        QCborMap { { "type"_L1, "AUTH"_L1 }, { "payload"_L1, QCborMap { { "token"_L1, 1 } } } },
        &error));
    QCOMPARE(error.field, u"payload.token"_s);
}

void TestMessages::helpersReportRelativeFields()
{
    DecodeError error;
    QVERIFY(!timestampFromCbor(QCborMap { { "millis"_L1, 1 }, { "counter"_L1, 0 } }, &error));
    QCOMPARE(error.field, u"nodeId"_s);
    QVERIFY(!timestampFromCbor(QCborValue(5), &error));
    QCOMPARE(error.field, QString());
    QVERIFY(error.reason.contains("map"_L1));

    const FieldPath root;
    const FieldPath record(root, "record"_L1);
    QVERIFY(!lwwRecordFromCbor(QCborMap { { "value"_L1, 1 } }, &error, record));
    QCOMPARE(error.field, u"record.timestamp"_s);
    QCborMap untagged = orRecordToCbor(::orRecord(1, u"t"_s));
    untagged.remove("tag"_L1);
    QVERIFY(!orRecordFromCbor(untagged, &error));
    QCOMPARE(error.field, u"tag"_s);

    const crdt::OrRecord original = ::orRecord(QCborArray { 1, u"x"_s }, u"1700000000005:0:n1"_s);
    QVERIFY(orRecordFromCbor(orRecordToCbor(original)) == original);
    QVERIFY(timestampFromCbor(timestampToCbor(ts(-5, 0, u"é"_s))) == ts(-5, 0, u"é"_s));
}

void TestMessages::directEncodingMatchesCborForm()
{
    const QCborValue awkward = QCborMap {
        { "text"_L1, u"\u00e9t\u00e9 \U0001F600 \u4e2d"_s },
        { "lone"_L1, QString(QChar(0xd800)) },
        { "long"_L1, QString(300, u'x') },
        { "big"_L1, qint64(1) << 40 },
        { "huge"_L1, std::numeric_limits<qint64>::max() },
        { "neg"_L1, qint64(-5'000'000'000) },
        { "small"_L1, -7 },
        { "bytes"_L1, QByteArray("\x00\x01\x02", 3) },
        { "list"_L1, QCborArray { 1, 2.5, true, QCborValue(nullptr), u"s"_s } },
        { 42, u"int key"_s },
    };

    ServerEventPayload put { u"todos"_s, ServerEventType::Put, u"k\u00e9y"_s, lww(awkward, 60'000),
        std::nullopt, std::nullopt };
    ServerEventPayload tombstone { u"todos"_s, ServerEventType::Remove, u"gone"_s,
        lww(QCborValue(nullptr)), std::nullopt, std::nullopt };
    ServerEventPayload orAdd { u"tags"_s, ServerEventType::OrAdd, u"t"_s, std::nullopt,
        orRecord(u"red"_s, u"1700000000005:0:n1"_s), std::nullopt };
    ServerEventPayload orRemove { u"tags"_s, ServerEventType::OrRemove, u"t"_s, std::nullopt,
        std::nullopt, u"1700000000005:0:n1"_s };

    for (const auto &timestamp : { kEnvelope, std::optional<crdt::Timestamp>() }) {
        for (const ServerEventPayload &event : { put, tombstone, orAdd, orRemove }) {
            const ServerEventMessage message { event, timestamp };
            QCOMPARE(message.encode(), wire::MsgPackCodec::encode(QCborValue(message.toCbor())));
        }
        const ServerBatchEventMessage batch { { put, tombstone, orAdd, orRemove }, timestamp };
        QCOMPARE(batch.encode(), wire::MsgPackCodec::encode(QCborValue(batch.toCbor())));
        const ServerBatchEventMessage empty { {}, timestamp };
        QCOMPARE(empty.encode(), wire::MsgPackCodec::encode(QCborValue(empty.toCbor())));

        QList<OpResult> results;
        for (int i = 0; i < 100; ++i) {
            results.append({ QString::number(i), i % 7 != 0, WriteConcern::Persisted,
                i % 7 == 0 ? std::optional<QString>(u"Access denied"_s) : std::nullopt });
        }
        const OpAckMessage ack { u"99"_s, WriteConcern::Persisted, results, timestamp };
        QCOMPARE(ack.encode(), wire::MsgPackCodec::encode(QCborValue(ack.toCbor())));
        const OpAckMessage bare { u"1"_s, std::nullopt, std::nullopt, timestamp };
        QCOMPARE(bare.encode(), wire::MsgPackCodec::encode(QCborValue(bare.toCbor())));

        for (const QueryChange change :
            { QueryChange::Enter, QueryChange::Update, QueryChange::Remove }) {
            const QueryUpdateMessage update { u"q-1"_s, u"key"_s, awkward, change, timestamp };
            QCOMPARE(update.encode(), wire::MsgPackCodec::encode(QCborValue(update.toCbor())));
        }
        const QueryUpdateMessage undefinedValue { u"q"_s, u"k"_s, QCborValue(), QueryChange::Remove,
            timestamp };
        QCOMPARE(undefinedValue.encode(),
            wire::MsgPackCodec::encode(QCborValue(undefinedValue.toCbor())));
        // The value handed over packed, as a fan-out to many queries does.
        const QueryUpdateMessage update { u"q-1"_s, u"key"_s, awkward, QueryChange::Enter,
            timestamp };
        QCOMPARE(update.encode(wire::MsgPackCodec::encode(awkward)),
            wire::MsgPackCodec::encode(QCborValue(update.toCbor())));
        QCOMPARE(undefinedValue.encode(wire::MsgPackCodec::encode(QCborValue(nullptr))),
            wire::MsgPackCodec::encode(QCborValue(undefinedValue.toCbor())));

        QueryRespMessage response { u"q-1"_s,
            { { u"a"_s, awkward }, { u"b"_s, QCborValue(nullptr) },
                { u"c"_s, crdt::Value::fromPacked(wire::MsgPackCodec::encode(awkward)) } },
            u"cursor"_s, true, u"valid"_s, timestamp };
        QCOMPARE(response.encode(), wire::MsgPackCodec::encode(QCborValue(response.toCbor())));
        const QueryRespMessage noResults { u"q-1"_s, {}, std::nullopt, false, u"none"_s,
            timestamp };
        QCOMPARE(noResults.encode(), wire::MsgPackCodec::encode(QCborValue(noResults.toCbor())));

        SyncRespLeafMessage leaf { u"todos"_s, u"0a"_s,
            { { u"k\u00e9y"_s, *put.record }, { u"gone"_s, *tombstone.record } }, timestamp };
        QCOMPARE(leaf.encode(), wire::MsgPackCodec::encode(QCborValue(leaf.toCbor())));
        // Packed values go out as their bytes and read back as the same records.
        const QByteArray tree = leaf.encode();
        for (LeafRecord &record : leaf.records)
            record.record.value = crdt::Value::fromPacked(record.record.value.packed());
        QCOMPARE(leaf.encode(), tree);
        const SyncRespLeafMessage noRecords { u"todos"_s, u""_s, {}, timestamp };
        QCOMPARE(noRecords.encode(), wire::MsgPackCodec::encode(QCborValue(noRecords.toCbor())));
    }

    JournalEvent deleted = journalEvent();
    deleted.type = u"DELETE"_s;
    deleted.value.reset();
    deleted.previousValue = crdt::Value(awkward);
    for (const JournalEvent &event : { journalEvent(), deleted }) {
        const JournalEventMessage message { event };
        QCOMPARE(message.encode(), wire::MsgPackCodec::encode(QCborValue(message.toCbor())));
    }
    const JournalReadResponseMessage read { u"r"_s, { journalEvent(), deleted }, true };
    QCOMPARE(read.encode(), wire::MsgPackCodec::encode(QCborValue(read.toCbor())));
    const JournalReadResponseMessage none { u"r"_s, {}, false };
    QCOMPARE(none.encode(), wire::MsgPackCodec::encode(QCborValue(none.toCbor())));
}

void TestMessages::shapeWritersMatchCborForm()
{
    const auto written = [](const auto &write) {
        QByteArray bytes;
        wire::MsgPackWriter out(bytes);
        write(out);
        out.finish();
        return bytes;
    };
    const auto encoded
        = [](const QCborMap &map) { return wire::MsgPackCodec::encode(QCborValue(map)); };

    for (const crdt::Timestamp &stamp :
        { ts(1700000000000, 1, u"client-a"_s), ts(-5, -1, u"\u00e9"_s),
            ts(qint64(1) << 60, std::numeric_limits<qint32>::max(), {}) }) {
        QCOMPARE(written([&](wire::MsgPackWriter &out) { writeTimestamp(out, stamp); }),
            encoded(timestampToCbor(stamp)));
    }
    for (const crdt::LwwRecord &record : { lww(u"v"_s), lww(QCborValue(nullptr), 60'000),
             lww(QCborValue()), lww(QCborMap { { "n"_L1, 2.5 } }, 0) }) {
        QCOMPARE(written([&](wire::MsgPackWriter &out) { writeLwwRecord(out, record); }),
            encoded(lwwRecordToCbor(record)));
        const LeafRecord leaf { u"k\u00e9y"_s, record };
        QCOMPARE(
            written([&](wire::MsgPackWriter &out) { leaf.write(out); }), encoded(leaf.toCbor()));
    }
    crdt::OrRecord noTtl = orRecord(QCborArray { 1, u"x"_s }, u"1700000000005:0:n1"_s);
    noTtl.ttlMs.reset();
    for (const crdt::OrRecord &record : { orRecord(u"red"_s, u"t"_s), noTtl }) {
        QCOMPARE(written([&](wire::MsgPackWriter &out) { writeOrRecord(out, record); }),
            encoded(orRecordToCbor(record)));
    }
    for (const OpResult &result : { OpResult { u"1"_s, true, WriteConcern::Applied, {} },
             OpResult { u"2"_s, false, WriteConcern::FireAndForget, u"denied"_s } }) {
        QCOMPARE(written([&](wire::MsgPackWriter &out) { result.write(out); }),
            encoded(result.toCbor()));
    }
    const ServerEventPayload updated { u"todos"_s, ServerEventType::Updated, u"k"_s,
        lww(QCborValue(nullptr)), orRecord(1, u"t"_s), u"t"_s };
    QCOMPARE(
        written([&](wire::MsgPackWriter &out) { updated.write(out); }), encoded(updated.toCbor()));
}

QTEST_APPLESS_MAIN(TestMessages)

#include "tst_messages.moc"

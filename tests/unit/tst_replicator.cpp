#include "LoopbackBus.h"
#include "TestSession.h"

#include "auth/SecurityPolicy.h"
#include "cluster/ReplicationFrames.h"
#include "cluster/WriteReplication.h"
#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "ops/Committer.h"
#include "ops/OpRouter.h"
#include "ops/OperationHandler.h"
#include "protocol/Messages.h"
#include "protocol/OpBatchDecoder.h"

#include <QSignalSpy>
#include <QTest>

#include <algorithm>
#include <memory>

using namespace wingman;
using namespace wingman::protocol;
using namespace Qt::StringLiterals;
using test::LoopbackCluster;
using test::ScriptedStorage;
using test::TestSession;

namespace {

const QString kReplicate = u"REPLICATE"_s;
const QString kAck = u"REPLICATE_ACK"_s;

auth::SecurityPolicy allowAll()
{
    using Rule = auth::SecurityPolicy::Rule;
    return auth::SecurityPolicy({
        Rule { u"USER"_s, u"todos"_s, auth::SecurityPolicy::kAllActions },
        Rule { u"USER"_s, u"tags"_s, auth::SecurityPolicy::kAllActions },
    });
}

ClientOp put(const QString &id, const QString &map, const QString &key, const QCborValue &value)
{
    ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = OpType::Put;
    op.record = crdt::LwwRecord { value,
        crdt::Timestamp { QDateTime::currentMSecsSinceEpoch(), 0, u"client-a"_s }, std::nullopt };
    return op;
}

ClientOp orAdd(const QString &id, const QString &map, const QString &key, const QCborValue &value)
{
    ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = OpType::OrAdd;
    const crdt::Timestamp ts { QDateTime::currentMSecsSinceEpoch(), 0, u"client-a"_s };
    op.orRecord = crdt::OrRecord { value, ts, ts.toString(), std::nullopt };
    return op;
}

DecodedOps batch(QList<ClientOp> ops, std::optional<WriteConcern> concern = std::nullopt)
{
    DecodedOps decoded;
    decoded.ops = std::move(ops);
    decoded.writeConcern = concern;
    return decoded;
}

// One node's write path, as Pipeline wires it, on a loopback bus.
struct Node {
    QString id;
    maps::MapRegistry maps;
    live::QueryRegistry queries;
    ScriptedStorage storage;
    ops::Committer committer { storage, queries, maps.hlc() };
    auth::SecurityPolicy policy = allowAll();
    ops::OpRouter router;
    ops::OperationHandler handler { maps, policy, committer, router };
    std::unique_ptr<cluster::WriteReplication> replication;
    TestSession client { 1 };
    TestSession listener { 2 };

    Node(LoopbackCluster &cluster, const QString &nodeId, qint64 ackTimeoutMs)
        : id(nodeId)
        , maps(nodeId)
        , router(nodeId)
    {
        storage.setDurable(true);
        cluster::WriteReplication::Options options;
        options.writeAckTimeoutMs = ackTimeoutMs;
        replication = std::make_unique<cluster::WriteReplication>(
            *cluster.add(nodeId), maps, committer, router, options);
        client.authenticate();
        listener.authenticate(u"bob"_s);
        queries.addMapListener(&listener, u"todos"_s);
    }

    std::optional<QCborValue> value(const QString &key, const QString &map = u"todos"_s) const
    {
        const crdt::LwwMap *lww = maps.findLww(map);
        return lww ? lww->get(key) : std::nullopt;
    }
    QList<std::optional<OpAckMessage>> acks() const { return client.ackedBatches(); }
    const cluster::Replicator::PeerCounters peer(const QString &peerId) const
    {
        return replication->replicator().counters().value(peerId);
    }
};

// A key of the partition table over the cluster's nodes whose owner is `owner`.
QString keyOwnedBy(const cluster::PartitionTable &table, const QString &owner)
{
    for (int i = 0;; ++i) {
        const QString key = u"key-%1"_s.arg(i);
        if (table.owner(cluster::PartitionTable::partitionOf(key)) == owner)
            return key;
    }
}

} // namespace

class TestReplicator : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cleanup()
    {
        m_nodes.clear();
        m_cluster.reset();
    }

    void writeReachesPeerMapAndSubscriber();
    void orWriteReachesPeer();
    void ackWaitsForOwnersAck();
    void acksLeaveInBatchOrder();
    void replicatedWaitsForEveryBackup();
    void silentPeerDegradesAfterTimeout();
    void alonePeerDegradesAtOnce();
    void queueReplaysOnHeal();
    void hintQueueOverflowDropsAndCounts();
    void otherKindIsRefusedAndCounted();
    void receiversNeverReReplicate();
    void peerAcksOnlyAfterDurableCommit();
    void failedLocalCommitIsNotAcked();
    void oneBatchPerPeerPerTurnSplitAboveLimit();
    void framesRoundTrip();

private:
    void makeCluster(const QStringList &ids, int backupCount = 1, qint64 ackTimeoutMs = 5000)
    {
        m_cluster = std::make_unique<LoopbackCluster>();
        for (const QString &id : ids)
            m_nodes[id] = std::make_unique<Node>(*m_cluster, id, ackTimeoutMs);
        m_cluster->setTable(1, backupCount);
    }
    Node &node(const QString &id) { return *m_nodes.at(id); }
    const cluster::PartitionTable &table() { return m_cluster->bus(u"a"_s)->table(); }

    std::unique_ptr<LoopbackCluster> m_cluster;
    std::map<QString, std::unique_ptr<Node>> m_nodes;
};

void TestReplicator::writeReachesPeerMapAndSubscriber()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"k"_s, u"v"_s) }));

    QTRY_COMPARE(b.value(u"k"_s), std::optional<QCborValue>(u"v"_s));
    QTRY_COMPARE(b.listener.typed<ServerEventMessage>().size(), 1);
    const auto event = b.listener.typed<ServerEventMessage>().first();
    QVERIFY(event);
    QCOMPARE(event->event.key, u"k"_s);
    QCOMPARE(event->event.eventType, ServerEventType::Put);
    QCOMPARE(b.storage.writes().size(), 1);
    QTRY_COMPARE(a.acks().size(), 1);
    QCOMPARE(a.acks().first()->achievedLevel, WriteConcern::Persisted);
    QCOMPARE(a.peer(u"b"_s).changesSent, quint64(1));
    QCOMPARE(b.peer(u"a"_s).changesReceived, quint64(1));
    QTRY_COMPARE(a.replication->replicator().queueBytes(u"b"_s), qint64(0));
}

void TestReplicator::orWriteReachesPeer()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    a.handler.handle(a.client, batch({ orAdd(u"1"_s, u"tags"_s, u"k"_s, u"x"_s) }));
    QTRY_VERIFY(b.maps.findOr(u"tags"_s));
    QTRY_COMPARE(b.maps.findOr(u"tags"_s)->get(u"k"_s), QList<QCborValue> { u"x"_s });

    const QString tag = b.maps.findOr(u"tags"_s)->getRecords(u"k"_s).first().tag;
    ClientOp remove;
    remove.id = u"2"_s;
    remove.mapName = u"tags"_s;
    remove.key = u"k"_s;
    remove.opType = OpType::OrRemove;
    remove.orTag = tag;
    a.handler.handle(a.client, batch({ remove }));
    QTRY_VERIFY(b.maps.findOr(u"tags"_s)->isTombstoned(tag));
    QVERIFY(b.maps.findOr(u"tags"_s)->get(u"k"_s).isEmpty());
}

void TestReplicator::ackWaitsForOwnersAck()
{
    makeCluster({ u"a"_s, u"b"_s, u"c"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    const QString key = keyOwnedBy(table(), u"b"_s);
    m_cluster->hold(u"b"_s, u"a"_s, kAck);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, key, 1) }));

    // B (the owner) committed and acked, C too; only B's ack counts, and it is held.
    QTRY_VERIFY(b.value(key));
    QTRY_COMPARE(m_cluster->deliveredCount(u"c"_s, u"a"_s, kAck), 1);
    QTRY_COMPARE(m_cluster->heldCount(u"b"_s, u"a"_s), 1);
    QCoreApplication::processEvents();
    QVERIFY(a.acks().isEmpty());

    m_cluster->release(u"b"_s, u"a"_s);
    QTRY_COMPARE(a.acks().size(), 1);
    QCOMPARE(a.acks().first()->achievedLevel, WriteConcern::Persisted);
    QCOMPARE(a.replication->tracker().acksDegraded(), quint64(0));
}

void TestReplicator::acksLeaveInBatchOrder()
{
    makeCluster({ u"a"_s, u"b"_s, u"c"_s });
    Node &a = node(u"a"_s);
    const QString first = keyOwnedBy(table(), u"b"_s);
    const QString second = keyOwnedBy(table(), u"c"_s);
    m_cluster->hold(u"b"_s, u"a"_s, kAck);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, first, 1) }));
    QCoreApplication::processEvents();
    a.handler.handle(a.client, batch({ put(u"2"_s, u"todos"_s, second, 2) }));

    // The second batch's owner (C) has acked it, but the client would read that ack's lastId as
    // covering the first batch, whose owner has not: nothing goes out yet.
    QTRY_COMPARE(m_cluster->deliveredCount(u"c"_s, u"a"_s, kAck), 2);
    QCoreApplication::processEvents();
    QVERIFY(a.acks().isEmpty());

    m_cluster->release(u"b"_s, u"a"_s);
    QTRY_COMPARE(a.acks().size(), 2);
    QCOMPARE(a.acks().at(0)->lastId, u"1"_s);
    QCOMPARE(a.acks().at(1)->lastId, u"2"_s);
}

void TestReplicator::replicatedWaitsForEveryBackup()
{
    makeCluster({ u"a"_s, u"b"_s, u"c"_s }, 2);
    Node &a = node(u"a"_s);
    const QString key = keyOwnedBy(table(), u"a"_s);
    m_cluster->hold(u"c"_s, u"a"_s, kAck);
    a.handler.handle(
        a.client, batch({ put(u"1"_s, u"todos"_s, key, 1) }, WriteConcern::Replicated));

    QTRY_COMPARE(m_cluster->deliveredCount(u"b"_s, u"a"_s, kAck), 1);
    QTRY_COMPARE(m_cluster->heldCount(u"c"_s, u"a"_s), 1);
    QCoreApplication::processEvents();
    QVERIFY(a.acks().isEmpty());

    m_cluster->release(u"c"_s, u"a"_s);
    QTRY_COMPARE(a.acks().size(), 1);
    const auto ack = a.acks().first();
    QCOMPARE(ack->achievedLevel, WriteConcern::Replicated);
    QCOMPARE(ack->results->first().achievedLevel, WriteConcern::Replicated);
}

void TestReplicator::silentPeerDegradesAfterTimeout()
{
    makeCluster({ u"a"_s, u"b"_s }, 1, 150);
    Node &a = node(u"a"_s);
    m_cluster->hold(u"b"_s, u"a"_s); // B's acks never come back in time
    QElapsedTimer timer;
    timer.start();
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"k"_s, 1) }));
    QCoreApplication::processEvents();
    QVERIFY(a.acks().isEmpty());

    QTRY_COMPARE_WITH_TIMEOUT(a.acks().size(), 1, 3000);
    QVERIFY(timer.elapsed() >= 140);
    QCOMPARE(a.acks().first()->achievedLevel, WriteConcern::Persisted);
    QCOMPARE(a.acks().first()->results->first().success, true);
    QCOMPARE(a.replication->tracker().acksDegraded(), quint64(1));
}

void TestReplicator::alonePeerDegradesAtOnce()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    m_cluster->cut(u"a"_s, u"b"_s);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"k"_s, 1) }));
    QCOMPARE(a.acks().size(), 1); // no peer to wait for: acked with the local commit
    QCOMPARE(a.replication->tracker().acksDegraded(), quint64(1));
}

void TestReplicator::queueReplaysOnHeal()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    m_cluster->cut(u"a"_s, u"b"_s);
    for (int i = 0; i < 3; ++i)
        a.handler.handle(
            a.client, batch({ put(QString::number(i), u"todos"_s, u"k%1"_s.arg(i), i) }));
    QCOMPARE(a.acks().size(), 3);
    QTRY_VERIFY(a.replication->replicator().queueBytes(u"b"_s) > 0);
    QVERIFY(!b.value(u"k0"_s));

    m_cluster->heal(u"a"_s, u"b"_s);
    QTRY_COMPARE(b.value(u"k2"_s), std::optional<QCborValue>(2));
    QCOMPARE(b.value(u"k0"_s), std::optional<QCborValue>(0));
    QVERIFY(a.peer(u"b"_s).hintsReplayed >= 1);
    QTRY_COMPARE(a.replication->replicator().queueBytes(u"b"_s), qint64(0));
}

void TestReplicator::hintQueueOverflowDropsAndCounts()
{
    m_cluster = std::make_unique<LoopbackCluster>();
    auto a = std::make_unique<Node>(*m_cluster, u"a"_s, 5000);
    cluster::Replicator::Options small;
    small.hintQueueBytes = 200;
    ops::ChangeApplier applier(a->maps, a->committer);
    auto *peerBus = m_cluster->add(u"b"_s);
    Q_UNUSED(peerBus);
    m_cluster->cut(u"a"_s, u"b"_s);
    cluster::Replicator replicator(*m_cluster->bus(u"a"_s), applier, small);
    QSignalSpy dropped(&replicator, &cluster::Replicator::hintQueueDropped);

    for (int i = 0; i < 10; ++i) {
        ops::ChangeSet changes;
        const crdt::LwwRecord record { QCborValue(u"a fairly long value %1"_s.arg(i)),
            crdt::Timestamp { 1, i, u"a"_s }, std::nullopt };
        changes.lwwPut(u"todos"_s, u"k%1"_s.arg(i), record, ServerEventType::Put,
            crdt::Value(record.value), false);
        replicator.replicate(changes);
        replicator.flush();
    }
    QVERIFY(dropped.count() >= 1);
    QCOMPARE(dropped.first().first().toString(), u"b"_s);
    QVERIFY(replicator.isOverflowed(u"b"_s));
    QVERIFY(replicator.counters().value(u"b"_s).queuesDropped >= 1);
    QVERIFY(replicator.queueBytes(u"b"_s) <= 200);
    replicator.clearOverflow(u"b"_s);
    QVERIFY(!replicator.isOverflowed(u"b"_s));
}

void TestReplicator::otherKindIsRefusedAndCounted()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    QVERIFY(b.maps.orMap(u"tags"_s));
    a.handler.handle(a.client, batch({ put(u"1"_s, u"tags"_s, u"k"_s, 1) }));

    QTRY_COMPARE(b.replication->applier().kindConflicts(), quint64(1));
    QVERIFY(b.maps.findOr(u"tags"_s)->get(u"k"_s).isEmpty());
    // Nothing to commit, but still acknowledged: the write is not held up by it.
    QTRY_COMPARE(a.acks().size(), 1);
    QCOMPARE(a.replication->tracker().acksDegraded(), quint64(0));
}

void TestReplicator::receiversNeverReReplicate()
{
    makeCluster({ u"a"_s, u"b"_s, u"c"_s });
    Node &a = node(u"a"_s);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"k"_s, 1) }));
    QTRY_VERIFY(node(u"b"_s).value(u"k"_s));
    QTRY_VERIFY(node(u"c"_s).value(u"k"_s));
    QTRY_COMPARE(a.acks().size(), 1);
    QCoreApplication::processEvents();
    QCOMPARE(m_cluster->deliveredCount(u"b"_s, u"c"_s, kReplicate), 0);
    QCOMPARE(m_cluster->deliveredCount(u"c"_s, u"b"_s, kReplicate), 0);
    QCOMPARE(m_cluster->deliveredCount(u"b"_s, u"a"_s, kReplicate), 0);
    QCOMPARE(m_cluster->deliveredCount(u"c"_s, u"a"_s, kReplicate), 0);
    QCOMPARE(node(u"b"_s).peer(u"c"_s).changesSent, quint64(0));
}

void TestReplicator::peerAcksOnlyAfterDurableCommit()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    QVERIFY(b.maps.orMap(u"tags"_s));
    b.storage.setMode(ScriptedStorage::Mode::Deferred);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"k"_s, 1) }));
    QTRY_COMPARE(b.storage.pending(), 1);
    // A later batch that changes nothing on B (kind conflict) must not be acked before it.
    QCoreApplication::processEvents();
    a.handler.handle(a.client, batch({ put(u"2"_s, u"tags"_s, u"k"_s, 1) }));
    QTRY_COMPARE(b.replication->applier().kindConflicts(), quint64(1));
    QCoreApplication::processEvents();
    QCOMPARE(m_cluster->deliveredCount(u"b"_s, u"a"_s, kAck), 0);
    QVERIFY(a.acks().isEmpty());

    b.storage.release();
    QTRY_COMPARE(a.acks().size(), 2);
    QCOMPARE(m_cluster->deliveredCount(u"b"_s, u"a"_s, kAck), 1);
    const auto &frames = m_cluster->delivered();
    const auto ack = std::find_if(frames.cbegin(), frames.cend(),
        [](const LoopbackCluster::Frame &frame) { return frame.type == kAck; });
    QVERIFY(ack != frames.cend());
    QCOMPARE(cluster::replication::decodeAck(ack->body), std::optional<quint64>(2));
    QCOMPARE(a.replication->tracker().acksDegraded(), quint64(0));
}

void TestReplicator::failedLocalCommitIsNotAcked()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    a.storage.setMode(ScriptedStorage::Mode::Fail);
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"k"_s, 1) }));
    QCOMPARE(a.client.errors().size(), 1);
    QTRY_VERIFY(node(u"b"_s).value(u"k"_s));
    QCOMPARE(a.replication->tracker().pending(), 0);
    QCoreApplication::processEvents();
    QVERIFY(a.acks().isEmpty());
}

void TestReplicator::oneBatchPerPeerPerTurnSplitAboveLimit()
{
    makeCluster({ u"a"_s, u"b"_s });
    Node &a = node(u"a"_s);
    Node &b = node(u"b"_s);
    TestSession second { 3 };
    second.authenticate();
    // Two client batches in one event-loop turn: one REPLICATE.
    a.handler.handle(a.client, batch({ put(u"1"_s, u"todos"_s, u"x"_s, 1) }));
    a.handler.handle(second, batch({ put(u"2"_s, u"todos"_s, u"y"_s, 2) }));
    QTRY_VERIFY(b.value(u"y"_s));
    QCOMPARE(m_cluster->deliveredCount(u"a"_s, u"b"_s, kReplicate), 1);
    QTRY_COMPARE(a.acks().size(), 1);
    QTRY_COMPARE(second.ackedBatches().size(), 1);

    // 1.5 MiB in one turn: two REPLICATEs.
    const QString big(600 * 1024, u'x');
    for (int i = 0; i < 3; ++i)
        a.handler.handle(
            a.client, batch({ put(u"b%1"_s.arg(i), u"todos"_s, u"big%1"_s.arg(i), big) }));
    QTRY_VERIFY(b.value(u"big2"_s));
    QCOMPARE(m_cluster->deliveredCount(u"a"_s, u"b"_s, kReplicate), 3);
    QTRY_COMPARE(a.acks().size(), 4);
}

void TestReplicator::framesRoundTrip()
{
    ops::ChangeSet changes;
    const crdt::LwwRecord record { QCborValue(u"v"_s), crdt::Timestamp { 5, 1, u"n"_s }, 1000 };
    changes.lwwPut(u"m"_s, u"k"_s, record, ServerEventType::Put, crdt::Value(record.value), false);
    const crdt::OrRecord orRecord { QCborValue(7), crdt::Timestamp { 6, 0, u"n"_s }, u"6:0:n"_s,
        std::nullopt };
    changes.orAdd(u"o"_s, u"k2"_s, orRecord, std::nullopt);
    changes.orTombstone(u"o"_s, u"k2"_s, u"1:0:n"_s, std::nullopt);
    QByteArray entries;
    quint32 count = 0;
    for (const auto &list : changes.changesByMap()) {
        for (const live::Change &change : list) {
            cluster::replication::appendEntry(entries, change);
            ++count;
        }
    }
    const QByteArray body = cluster::replication::replicateBody(42, count, entries);
    QCOMPARE(LoopbackCluster::typeOf(body), kReplicate);
    QString error;
    const auto decoded = cluster::replication::decodeReplicate(body, &error);
    QVERIFY2(decoded, qPrintable(error));
    QCOMPARE(decoded->seq, quint64(42));
    QCOMPARE(decoded->changes.size(), 3);
    bool sawLww = false, sawAdd = false, sawTag = false;
    for (const ops::ReplicatedChange &change : decoded->changes) {
        if (change.record) {
            sawLww = true;
            QCOMPARE(change.record->timestamp, record.timestamp);
            QCOMPARE(change.record->ttlMs, record.ttlMs);
            QCOMPARE(change.record->value, record.value);
        } else if (change.orRecord) {
            sawAdd = true;
            QCOMPARE(change.orRecord->tag, orRecord.tag);
        } else if (change.orTag) {
            sawTag = true;
            QCOMPARE(*change.orTag, u"1:0:n"_s);
        }
    }
    QVERIFY(sawLww && sawAdd && sawTag);

    // The fast reader gives the same changes, values still their bytes.
    protocol::OpBatchDecoder fast;
    const auto viaFast = cluster::replication::decodeReplicate(body, &error, &fast);
    QVERIFY2(viaFast, qPrintable(error));
    QCOMPARE(viaFast->seq, quint64(42));
    QCOMPARE(viaFast->changes, decoded->changes);

    // A value's bytes cross the cluster as they came, even when not the shortest encoding.
    const QByteArray int8One("\xd0\x01", 2);
    ops::ChangeSet packed;
    const crdt::LwwRecord packedRecord { crdt::Value::fromPacked(int8One),
        crdt::Timestamp { 5, 2, u"n"_s }, std::nullopt };
    packed.lwwPut(u"m"_s, u"p"_s, packedRecord, ServerEventType::Put, packedRecord.value, false);
    QByteArray one;
    cluster::replication::appendEntry(one, packed.changesByMap().value(u"m"_s).first());
    const auto carried = cluster::replication::decodeReplicate(
        cluster::replication::replicateBody(1, 1, one), &error, &fast);
    QVERIFY2(carried, qPrintable(error));
    QVERIFY(carried->changes.first().record->value.isPacked());
    QCOMPARE(carried->changes.first().record->value.packed(), int8One);
    QCOMPARE(cluster::replication::decodeAck(cluster::replication::ackBody(9)),
        std::optional<quint64>(9));
    QVERIFY(!cluster::replication::decodeReplicate(cluster::replication::ackBody(9)));
}

QTEST_GUILESS_MAIN(TestReplicator)
#include "tst_replicator.moc"

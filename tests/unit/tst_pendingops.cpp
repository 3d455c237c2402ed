#include "client/PendingOps.h"

#include <QTest>

using namespace wingman;
using namespace wingman::client;

namespace {

protocol::ClientOp op(int id)
{
    protocol::ClientOp op;
    op.id = QString::number(id);
    op.mapName = "todos";
    op.key = QString("k%1").arg(id);
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { id, crdt::Timestamp { 1000 + id, 0, "c" }, std::nullopt };
    return op;
}

QStringList ids(const QList<protocol::ClientOp> &ops)
{
    QStringList result;
    for (const protocol::ClientOp &o : ops)
        result.append(*o.id);
    return result;
}

} // namespace

class tst_PendingOps : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void unsentOpsGoOutOnceInIdOrder()
    {
        PendingOps pending;
        for (int id : { 10, 2, 9, 1 })
            pending.add(op(id));
        QVERIFY(pending.hasUnsent());
        QCOMPARE(ids(pending.takeUnsent(0, 3)), (QStringList { "1", "2", "9" }));
        QCOMPARE(ids(pending.takeUnsent(0, 3)), QStringList { "10" });
        QVERIFY(!pending.hasUnsent());
        QVERIFY(pending.takeUnsent(0, 3).isEmpty());
        QCOMPARE(pending.size(), 4);
    }

    void expiredOpsAreSentAgain()
    {
        PendingOps pending;
        pending.add(op(1));
        pending.add(op(2));
        pending.takeUnsent(100, 10);
        QCOMPARE(pending.expire(599, 500), 0);
        QVERIFY(pending.remove("1"));
        QCOMPARE(pending.expire(600, 500), 1);
        QCOMPARE(ids(pending.takeUnsent(600, 10)), QStringList { "2" });
    }

    void newConnectionResendsEverything()
    {
        PendingOps pending;
        pending.add(op(1));
        pending.add(op(2));
        pending.takeUnsent(0, 10);
        pending.markAllUnsent();
        QCOMPARE(ids(pending.takeUnsent(0, 10)), (QStringList { "1", "2" }));
    }

    void removeReportsWhetherPending()
    {
        PendingOps pending;
        pending.add(op(3));
        QVERIFY(pending.contains("3"));
        QVERIFY(pending.remove("3"));
        QVERIFY(!pending.remove("3"));
        QVERIFY(!pending.remove("not-a-number"));
        QVERIFY(pending.isEmpty());
    }

    void lastIdOfAKnownBatchAcksThatBatchOnly()
    {
        PendingOps pending;
        for (int id = 1; id <= 5; ++id)
            pending.add(op(id));
        pending.takeUnsent(0, 3); // 1..3, lost on the way
        pending.expire(1000, 500);
        pending.takeUnsent(1000, 2); // 1, 2 again
        // "2" ends the second batch: ops 3..5 were not in it and stay pending.
        QCOMPARE(pending.acknowledgedBy("2"), (QStringList { "1", "2" }));
    }

    void unknownLastIdComparesNumerically()
    {
        PendingOps pending;
        for (int id : { 2, 9, 10, 100, 101 })
            pending.add(op(id));
        // As strings "9" > "100"; as numbers it is not.
        QCOMPARE(pending.acknowledgedBy("100"), (QStringList { "2", "9", "10", "100" }));
        QVERIFY(pending.acknowledgedBy("garbage").isEmpty());
    }

    void opsListsEverythingInOrder()
    {
        PendingOps pending;
        for (int id : { 3, 1, 2 })
            pending.add(op(id));
        QCOMPARE(ids(pending.ops()), (QStringList { "1", "2", "3" }));
    }
};

QTEST_GUILESS_MAIN(tst_PendingOps)
#include "tst_pendingops.moc"

#include "cluster/PartitionTable.h"

#include <QTest>

using namespace wingman::cluster;

class tst_PartitionTable : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void twoNodesEvenToFirst()
    {
        const PartitionTable table(
            1, QStringLiteral("a"), { QStringLiteral("b"), QStringLiteral("a") }, 1, 0);
        QCOMPARE(table.members(), (QStringList { "a", "b" }));
        for (int p = 0; p < PartitionTable::kPartitionCount; ++p) {
            QCOMPARE(table.owner(p), p % 2 == 0 ? QStringLiteral("a") : QStringLiteral("b"));
            QCOMPARE(table.backups(p), QStringList { p % 2 == 0 ? "b" : "a" });
        }
        QCOMPARE(table.ownedBy(QStringLiteral("a")), 136);
        QCOMPARE(table.ownedBy(QStringLiteral("b")), 135);
    }

    void threeNodes()
    {
        const PartitionTable table(4, QStringLiteral("n1"),
            { QStringLiteral("n3"), QStringLiteral("n1"), QStringLiteral("n2") }, 1, 0);
        QCOMPARE(table.ownedBy(QStringLiteral("n1")), 91);
        QCOMPARE(table.ownedBy(QStringLiteral("n2")), 90);
        QCOMPARE(table.ownedBy(QStringLiteral("n3")), 90);
        QCOMPARE(table.backedUpBy(QStringLiteral("n1")), 90);
        QCOMPARE(table.backedUpBy(QStringLiteral("n2")), 91);
        QCOMPARE(table.owner(5), QStringLiteral("n3"));
        QCOMPARE(table.backups(5), QStringList { "n1" });
    }

    // JavaScript's default sort: UTF-16 code units, so upper case sorts before lower case.
    void mixedCaseSortsByCodeUnit()
    {
        const PartitionTable table(1, QStringLiteral("B"),
            { QStringLiteral("a"), QStringLiteral("B"), QStringLiteral("_c") }, 1, 0);
        QCOMPARE(table.members(), (QStringList { "B", "_c", "a" }));
        QCOMPARE(table.owner(0), QStringLiteral("B"));
        QCOMPARE(table.owner(1), QStringLiteral("_c"));
        QCOMPARE(table.owner(2), QStringLiteral("a"));
    }

    void backupCountIsCapped()
    {
        const PartitionTable alone(1, QStringLiteral("a"), { QStringLiteral("a") }, 1, 0);
        QCOMPARE(alone.backupCount(), 0);
        QVERIFY(alone.backups(7).isEmpty());
        QCOMPARE(alone.ownedBy(QStringLiteral("a")), 271);

        const PartitionTable many(1, QStringLiteral("a"),
            { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c") }, 5, 0);
        QCOMPARE(many.backupCount(), 2);
        QCOMPARE(many.backups(1), (QStringList { "c", "a" }));
    }

    void preferenceOrder()
    {
        const PartitionTable table(1, QStringLiteral("a"),
            { QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c"), QStringLiteral("d") },
            1, 0);
        QCOMPARE(table.preference(2), (QStringList { "c", "d", "a", "b" }));
        QCOMPARE(table.preference(3), (QStringList { "d", "a", "b", "c" }));
        QVERIFY(PartitionTable().preference(0).isEmpty());
        QVERIFY(PartitionTable().owner(0).isEmpty());
    }

    void supersededByHigherVersionThenLowerCoordinator()
    {
        const PartitionTable current(3, QStringLiteral("b"), { QStringLiteral("b") }, 1, 0);
        QVERIFY(current.isSupersededBy(
            PartitionTable(4, QStringLiteral("z"), { QStringLiteral("z") }, 1, 0)));
        QVERIFY(!current.isSupersededBy(
            PartitionTable(2, QStringLiteral("a"), { QStringLiteral("a") }, 1, 0)));
        QVERIFY(current.isSupersededBy(
            PartitionTable(3, QStringLiteral("a"), { QStringLiteral("a") }, 1, 0)));
        QVERIFY(!current.isSupersededBy(
            PartitionTable(3, QStringLiteral("c"), { QStringLiteral("c") }, 1, 0)));
        QVERIFY(!current.isSupersededBy(current));
    }

    // docs/core.md hash vectors, mod 271.
    void partitionOfKnownKeys_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<int>("partition");
        QTest::newRow("a") << "a" << int(3826002220u % 271);
        QTest::newRow("key1") << "key1" << 268;
        QTest::newRow("key-a") << "key-a" << 75;
        QTest::newRow("user:42") << "user:42" << 48;
    }

    void partitionOfKnownKeys()
    {
        QFETCH(QString, key);
        QFETCH(int, partition);
        QCOMPARE(PartitionTable::partitionOf(key), partition);
    }
};

QTEST_GUILESS_MAIN(tst_PartitionTable)
#include "tst_partitiontable.moc"

#include "client/MemoryClientStorage.h"
#include "client/SqliteClientStorage.h"

#include <QCborArray>
#include <QCborMap>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

using namespace wingman;
using namespace wingman::client;

namespace {

crdt::Timestamp stamp(qint64 millis, qint32 counter = 0, const QString &nodeId = "client-a")
{
    return crdt::Timestamp { millis, counter, nodeId };
}

protocol::ClientOp putOp(const QString &mapName, const QString &key, const QCborValue &value)
{
    protocol::ClientOp op;
    op.mapName = mapName;
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, stamp(1700000000000 + key.size()), std::nullopt };
    return op;
}

QStringList idsOf(const QList<protocol::ClientOp> &ops)
{
    QStringList ids;
    for (const protocol::ClientOp &op : ops)
        ids.append(op.id.value_or(QString()));
    return ids;
}

} // namespace

class tst_ClientStorage : public QObject
{
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_dir;

    std::unique_ptr<ClientStorage> create(const QString &fileName = "client.db")
    {
        QFETCH_GLOBAL(QString, kind);
        if (kind == "memory")
            return std::make_unique<MemoryClientStorage>();
        return std::make_unique<SqliteClientStorage>(m_dir->filePath(fileName));
    }

    std::unique_ptr<ClientStorage> createOpen()
    {
        auto storage = create();
        if (!storage->open())
            qWarning("open failed: %s", qPrintable(storage->errorString()));
        return storage;
    }

private Q_SLOTS:
    void initTestCase_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::newRow("memory") << QStringLiteral("memory");
        QTest::newRow("sqlite") << QStringLiteral("sqlite");
    }

    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
    }

    void opsGetSequentialIdsAndStayInOrder()
    {
        auto storage = createOpen();
        QVERIFY(storage->isOpen());
        QCOMPARE(storage->unsyncedOps().size(), 0);
        QStringList ids;
        for (int i = 0; i < 12; ++i)
            ids.append(storage->appendOp(putOp("todos", QString("k%1").arg(i), i)));
        QCOMPARE(ids.first(), QStringLiteral("1"));
        QCOMPARE(ids.last(), QStringLiteral("12"));

        const QList<protocol::ClientOp> ops = storage->unsyncedOps();
        // Numeric order: "10" comes after "9", not after "1".
        QCOMPARE(idsOf(ops), ids);
        protocol::ClientOp expected = putOp("todos", "k3", 3);
        expected.id = QStringLiteral("4");
        QCOMPARE(ops.at(3), expected);
    }

    void syncedOpsLeaveTheUnsyncedList()
    {
        auto storage = createOpen();
        for (int i = 0; i < 4; ++i)
            storage->appendOp(putOp("todos", QString("k%1").arg(i), i));
        QVERIFY(storage->markOpSynced("2"));
        QVERIFY(storage->markOpSynced("4"));
        QCOMPARE(idsOf(storage->unsyncedOps()), (QStringList { "1", "3" }));
        QVERIFY(storage->pruneSyncedOps());
        QCOMPARE(idsOf(storage->unsyncedOps()), (QStringList { "1", "3" }));
        // The last id was pruned; it is not handed out again.
        QCOMPARE(storage->appendOp(putOp("todos", "k9", 9)), QStringLiteral("5"));
    }

    void removedOpIsGone()
    {
        auto storage = createOpen();
        for (int i = 0; i < 3; ++i)
            storage->appendOp(putOp("todos", QString("k%1").arg(i), i));
        QVERIFY(storage->removeOp("2"));
        QCOMPARE(idsOf(storage->unsyncedOps()), (QStringList { "1", "3" }));
    }

    void orOpsRoundTrip()
    {
        auto storage = createOpen();
        protocol::ClientOp add;
        add.mapName = "tags";
        add.key = "post-1";
        add.opType = protocol::OpType::OrAdd;
        add.orRecord = crdt::OrRecord { "red", stamp(5), stamp(5).toString(), 1000 };
        protocol::ClientOp remove;
        remove.mapName = "tags";
        remove.key = "post-1";
        remove.opType = protocol::OpType::OrRemove;
        remove.orTag = stamp(5).toString();
        storage->appendOp(add);
        storage->appendOp(remove);

        const auto ops = storage->unsyncedOps();
        QCOMPARE(ops.size(), 2);
        add.id = "1";
        remove.id = "2";
        QCOMPARE(ops.at(0), add);
        QCOMPARE(ops.at(1), remove);
    }

    void lwwRecordsRoundTrip_data()
    {
        QTest::addColumn<QCborValue>("value");
        QTest::addColumn<std::optional<qint64>>("ttlMs");
        QTest::newRow("string") << QCborValue("hello") << std::optional<qint64>();
        QTest::newRow("integer") << QCborValue(42) << std::optional<qint64>();
        QTest::newRow("big integer") << QCborValue(qint64(1) << 40) << std::optional<qint64>();
        QTest::newRow("double") << QCborValue(2.5) << std::optional<qint64>(5000);
        QTest::newRow("tombstone") << QCborValue(QCborValue::Null) << std::optional<qint64>();
        QTest::newRow("nested") << QCborValue(QCborMap {
            { "title", "buy milk" }, { "tags", QCborArray { "a", 1, true } }, { "done", false } })
                                << std::optional<qint64>();
        QTest::newRow("bytes") << QCborValue(QByteArray("\x00\x01\xff", 3))
                               << std::optional<qint64>();
    }

    void lwwRecordsRoundTrip()
    {
        QFETCH(QCborValue, value);
        QFETCH(std::optional<qint64>, ttlMs);
        auto storage = createOpen();
        const crdt::LwwRecord record { value, stamp(1700000000123, 7, "Node-B"), ttlMs };
        QVERIFY(storage->storeLwwRecord("todos", "k1", record));
        const auto records = storage->lwwRecords("todos");
        QCOMPARE(records.size(), 1);
        crdt::LwwRecord stored = records.value("k1");
        // Integers beyond 32 bits travel as float64, as msgpackr writes them: same number.
        if (value.isInteger() && stored.value.toCbor().isDouble())
            stored.value = QCborValue(qint64(stored.value.toCbor().toDouble()));
        QCOMPARE(stored, record);
        QVERIFY(storage->lwwRecords("other").isEmpty());
    }

    void lwwRecordIsReplacedAndRemoved()
    {
        auto storage = createOpen();
        storage->storeLwwRecord("todos", "k1", { "old", stamp(1), std::nullopt });
        storage->storeLwwRecord("todos", "k2", { "keep", stamp(2), std::nullopt });
        storage->storeLwwRecord("todos", "k1", { "new", stamp(3), std::nullopt });
        auto records = storage->lwwRecords("todos");
        QCOMPARE(records.size(), 2);
        QCOMPARE(records.value("k1").value, QCborValue("new"));

        QVERIFY(storage->removeLwwRecord("todos", "k1"));
        records = storage->lwwRecords("todos");
        QCOMPARE(records.keys(), QStringList { "k2" });
    }

    void orRecordsAndTombstones()
    {
        auto storage = createOpen();
        const QList<crdt::OrRecord> records {
            { "red", stamp(1), stamp(1).toString(), std::nullopt },
            { QCborMap { { "n", 2 } }, stamp(2), stamp(2).toString(), 300 },
        };
        QVERIFY(storage->storeOrRecords("tags", "post-1", records));
        QVERIFY(storage->storeOrRecords("tags", "post-2", records.mid(0, 1)));
        QVERIFY(storage->addOrTombstones("tags", { "9:0:x", "8:0:x" }));
        QVERIFY(storage->addOrTombstones("tags", { "8:0:x" }));

        auto stored = storage->orRecords("tags");
        QCOMPARE(stored.size(), 2);
        QCOMPARE(stored.value("post-1"), records);
        QCOMPARE(storage->orTombstones("tags"), (QStringList { "8:0:x", "9:0:x" }));

        QVERIFY(storage->storeOrRecords("tags", "post-2", {}));
        QVERIFY(storage->removeOrTombstones("tags", { "9:0:x" }));
        stored = storage->orRecords("tags");
        QCOMPARE(stored.keys(), QStringList { "post-1" });
        QCOMPARE(storage->orTombstones("tags"), QStringList { "8:0:x" });
    }

    void lastSyncTimestampPerMap()
    {
        auto storage = createOpen();
        QCOMPARE(storage->lastSyncTimestamp("todos"), 0);
        const qint64 millis = 1700000000000; // beyond 32 bits
        QVERIFY(storage->setLastSyncTimestamp("todos", millis));
        QVERIFY(storage->setLastSyncTimestamp("notes", 5));
        QVERIFY(storage->setLastSyncTimestamp("todos", millis + 1));
        QCOMPARE(storage->lastSyncTimestamp("todos"), millis + 1);
        QCOMPARE(storage->lastSyncTimestamp("notes"), 5);
    }

    void clearMapTouchesOnlyThatMap()
    {
        auto storage = createOpen();
        storage->appendOp(putOp("todos", "k1", 1));
        storage->storeLwwRecord("todos", "k1", { 1, stamp(1), std::nullopt });
        storage->storeLwwRecord("notes", "n1", { 2, stamp(2), std::nullopt });
        storage->storeOrRecords("todos", "k2", { { "x", stamp(3), stamp(3).toString(), {} } });
        storage->addOrTombstones("todos", { "1:0:a" });
        storage->setLastSyncTimestamp("todos", 77);
        storage->setLastSyncTimestamp("notes", 88);

        QVERIFY(storage->clearMap("todos"));
        QVERIFY(storage->lwwRecords("todos").isEmpty());
        QVERIFY(storage->orRecords("todos").isEmpty());
        QVERIFY(storage->orTombstones("todos").isEmpty());
        QCOMPARE(storage->lastSyncTimestamp("todos"), 0);
        QCOMPARE(storage->lwwRecords("notes").size(), 1);
        QCOMPARE(storage->lastSyncTimestamp("notes"), 88);
        QCOMPARE(storage->unsyncedOps().size(), 1);
    }

    void transactionKeepsWrites()
    {
        auto storage = createOpen();
        QVERIFY(storage->begin());
        storage->appendOp(putOp("todos", "k1", 1));
        storage->storeLwwRecord("todos", "k1", { 1, stamp(1), std::nullopt });
        QVERIFY(storage->commit());
        QCOMPARE(storage->unsyncedOps().size(), 1);
        QCOMPARE(storage->lwwRecords("todos").size(), 1);
    }

    void sqliteSurvivesReopen()
    {
        QFETCH_GLOBAL(QString, kind);
        if (kind != "sqlite")
            QSKIP("memory storage keeps nothing across instances");
        const QString path = m_dir->filePath("restart.db");
        {
            SqliteClientStorage storage(path);
            QVERIFY(storage.open());
            storage.appendOp(putOp("todos", "k1", 1));
            storage.appendOp(putOp("todos", "k2", 2));
            storage.markOpSynced("1");
            storage.storeLwwRecord("todos", "k1", { "v", stamp(10), std::nullopt });
            storage.storeOrRecords("tags", "t", { { "x", stamp(3), stamp(3).toString(), {} } });
            storage.addOrTombstones("tags", { "1:0:a" });
            storage.setLastSyncTimestamp("todos", 1234);
        }
        SqliteClientStorage storage(path);
        QVERIFY(storage.open());
        QCOMPARE(idsOf(storage.unsyncedOps()), QStringList { "2" });
        QCOMPARE(storage.lwwRecords("todos").value("k1").value, QCborValue("v"));
        QCOMPARE(storage.orRecords("tags").value("t").size(), 1);
        QCOMPARE(storage.orTombstones("tags"), QStringList { "1:0:a" });
        QCOMPARE(storage.lastSyncTimestamp("todos"), 1234);
        QCOMPARE(storage.appendOp(putOp("todos", "k3", 3)), QStringLiteral("3"));
    }

    void sqliteInstancesAreIndependent()
    {
        QFETCH_GLOBAL(QString, kind);
        if (kind != "sqlite")
            QSKIP("SQLite connection names only");
        SqliteClientStorage first(m_dir->filePath("a.db"));
        SqliteClientStorage second(m_dir->filePath("b.db"));
        QVERIFY(first.open());
        QVERIFY(second.open());
        first.appendOp(putOp("todos", "k1", 1));
        QCOMPARE(second.appendOp(putOp("todos", "k2", 2)), QStringLiteral("1"));
        QCOMPARE(first.unsyncedOps().size(), 1);
        QCOMPARE(second.unsyncedOps().first().key, QStringLiteral("k2"));
    }

    void sqliteReportsOpenFailure()
    {
        QFETCH_GLOBAL(QString, kind);
        if (kind != "sqlite")
            QSKIP("memory storage cannot fail");
        SqliteClientStorage storage(m_dir->filePath("missing-dir/client.db"));
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression("client storage .*"));
        QVERIFY(!storage.open());
        QVERIFY(!storage.isOpen());
        QVERIFY(!storage.errorString().isEmpty());
    }
};

QTEST_GUILESS_MAIN(tst_ClientStorage)
#include "tst_clientstorage.moc"

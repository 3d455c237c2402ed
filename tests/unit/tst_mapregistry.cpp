#include "maps/MapRegistry.h"

#include <QDateTime>
#include <QTest>

#include <thread>

using namespace wingman;
using maps::MapRegistry;

namespace {

// Ten minutes ahead of the wall clock, so only loading can move the clock there.
const qint64 kBase = QDateTime::currentMSecsSinceEpoch() + 600'000;

std::vector<storage::StoredLwwRecord> records(const QString &prefix, int from, int count)
{
    std::vector<storage::StoredLwwRecord> out;
    for (int i = from; i < from + count; ++i) {
        out.push_back({ prefix + QString::number(i),
            crdt::LwwRecord { crdt::Value(QCborValue(i)),
                { kBase + i, i % 3, QStringLiteral("n%1").arg(i % 4) },
                i % 5 == 0 ? std::optional<qint64>(60'000) : std::nullopt } });
    }
    return out;
}

} // namespace

class tst_MapRegistry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Chunks streamed from another thread, two maps interleaved, build the same maps (records,
    // Merkle roots) as one load of everything, and the clock moves past the newest record.
    void streamedChunksBuildWhatOneLoadBuilds()
    {
        MapRegistry streamed(QStringLiteral("node-s"));
        {
            MapRegistry::StreamLoader loader(streamed);
            const storage::LwwLoadSink sink = loader.sink();
            std::thread storageThread([&sink] {
                for (int chunk = 0; chunk < 20; ++chunk) {
                    sink(QStringLiteral("a"), records(QStringLiteral("k"), chunk * 1000, 1000));
                    if (chunk % 7 == 0)
                        sink(QStringLiteral("b"), records(QStringLiteral("b"), chunk, 1));
                }
            });
            storageThread.join();
            QVERIFY(!streamed.findLww(QStringLiteral("a"))); // not before adopt()
            loader.adopt();
        }

        MapRegistry direct(QStringLiteral("node-d"));
        const auto all = records(QStringLiteral("k"), 0, 20'000);
        direct.lwwMap(QStringLiteral("a"))->load(all.cbegin(), all.cend());
        std::vector<storage::StoredLwwRecord> b;
        for (int chunk : { 0, 7, 14 })
            b.push_back(records(QStringLiteral("b"), chunk, 1).front());
        direct.lwwMap(QStringLiteral("b"))->load(b.cbegin(), b.cend());

        for (const QString &name : { QStringLiteral("a"), QStringLiteral("b") }) {
            const crdt::LwwMap *got = streamed.findLww(name);
            const crdt::LwwMap *want = direct.findLww(name);
            QVERIFY(got && want);
            QCOMPARE(got->size(), want->size());
            QCOMPARE(got->merkleTree().rootHash(), want->merkleTree().rootHash());
        }
        QCOMPARE(streamed.findLww(QStringLiteral("a"))->size(), 20'000);
        const auto record
            = streamed.findLww(QStringLiteral("a"))->getRecord(QStringLiteral("k12345"));
        QVERIFY(record);
        QCOMPARE(*record, all[12345].record);
        QCOMPARE(streamed.kindOf(QStringLiteral("b")), MapRegistry::Kind::Lww);
        QVERIFY(streamed.hlc().now().millis >= kBase + 19'999);
        QVERIFY(direct.hlc().now().millis < kBase); // load alone leaves the clock alone
    }

    // A loader dropped before adopt() (storage failed) leaves the registry as it was.
    void droppedLoaderLeavesRegistryAlone()
    {
        MapRegistry registry(QStringLiteral("node-x"));
        {
            MapRegistry::StreamLoader loader(registry);
            loader.sink()(QStringLiteral("a"), records(QStringLiteral("k"), 0, 100));
        }
        QVERIFY(!registry.findLww(QStringLiteral("a")));
        QCOMPARE(registry.mapNames(), QStringList());
    }
};

QTEST_GUILESS_MAIN(tst_MapRegistry)
#include "tst_mapregistry.moc"

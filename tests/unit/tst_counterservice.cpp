#include "auth/SecurityPolicy.h"
#include "primitives/CounterService.h"
#include "primitives/CounterState.h"
#include "storage/MemoryStorage.h"

#include <QTest>

using namespace wingman;
using primitives::CounterService;
using primitives::CounterState;

// CounterService's side of anti-entropy (docs/cluster.md §5, §7): a digest of every stored
// counter, including those no client touched since the node started.
class tst_CounterService : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void digestsCoverEveryStoredCounter()
    {
        storage::MemoryStorage storage;
        const auth::SecurityPolicy policy;
        CounterState likes;
        likes.setCount(true, QStringLiteral("node-a"), 3);
        likes.setCount(false, QStringLiteral("node-b"), 1);
        CounterState views;
        views.setCount(true, QStringLiteral("node-b"), 7);
        {
            CounterService counters(storage, policy);
            QVERIFY(counters.digests().isEmpty());
            counters.mergeRemote(QStringLiteral("likes"), likes);
            counters.mergeRemote(QStringLiteral("views"), views);
            // Merging what it holds changes nothing.
            counters.mergeRemote(QStringLiteral("views"), views);
            // Read but never counted: not stored, no digest.
            QVERIFY(counters.state(QStringLiteral("unused")).isEmpty());
            QCOMPARE(counters.digests().size(), 2);
        }

        // The next run's service knows them from storage alone.
        CounterService restarted(storage, policy);
        const QHash<QString, quint32> digests = restarted.digests();
        QCOMPARE(digests.size(), 2);
        QCOMPARE(digests.value(QStringLiteral("likes")), CounterService::digestOf(likes));
        QCOMPARE(digests.value(QStringLiteral("views")), CounterService::digestOf(views));
        QVERIFY(CounterService::digestOf(likes) != CounterService::digestOf(views));

        // Equal states hash equally, whatever order their counts came in.
        CounterState same;
        same.setCount(false, QStringLiteral("node-b"), 1);
        same.setCount(true, QStringLiteral("node-a"), 3);
        QCOMPARE(CounterService::digestOf(same), CounterService::digestOf(likes));
    }
};

QTEST_GUILESS_MAIN(tst_CounterService)
#include "tst_counterservice.moc"

#include "ops/OpRouter.h"

#include <QTest>

using namespace wingman;
using namespace Qt::StringLiterals;
using ops::OpRouter;

namespace {

protocol::ClientOp op(const QString &map, const QString &key)
{
    protocol::ClientOp op;
    op.mapName = map;
    op.key = key;
    return op;
}

} // namespace

class TestOpRouter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void routes_data();
    void routes();
    void lookupIsAskedForTheOpsKey();
    void localNodeIdCanBeSetLater();
};

void TestOpRouter::routes_data()
{
    QTest::addColumn<bool>("withLookup");
    QTest::addColumn<QString>("owner"); // what the lookup answers
    QTest::addColumn<bool>("local");
    QTest::addColumn<QString>("routedTo");

    QTest::newRow("no lookup") << false << QString() << true << u"node-a"_s;
    QTest::newRow("owner unknown") << true << QString() << true << u"node-a"_s;
    QTest::newRow("owner is self") << true << u"node-a"_s << true << u"node-a"_s;
    QTest::newRow("owner is another node") << true << u"node-b"_s << false << u"node-b"_s;
}

void TestOpRouter::routes()
{
    QFETCH(bool, withLookup);
    QFETCH(QString, owner);
    QFETCH(bool, local);
    QFETCH(QString, routedTo);

    OpRouter router(u"node-a"_s);
    if (withLookup)
        router.setOwnerLookup([owner](const QString &, const QString &) { return owner; });
    const OpRouter::Route route = router.route(op(u"todos"_s, u"k"_s));
    QCOMPARE(route.local, local);
    QCOMPARE(route.owner, routedTo);
}

void TestOpRouter::lookupIsAskedForTheOpsKey()
{
    OpRouter router(u"node-a"_s);
    QStringList asked;
    router.setOwnerLookup([&asked](const QString &map, const QString &key) {
        asked.append(map + u'/' + key);
        return key == u"remote"_s ? u"node-c"_s : u"node-a"_s;
    });
    QCOMPARE(router.route(op(u"todos"_s, u"remote"_s)), (OpRouter::Route { false, u"node-c"_s }));
    QCOMPARE(router.route(op(u"notes"_s, u"mine"_s)), (OpRouter::Route { true, u"node-a"_s }));
    QCOMPARE(asked, (QStringList { u"todos/remote"_s, u"notes/mine"_s }));
}

void TestOpRouter::localNodeIdCanBeSetLater()
{
    OpRouter router;
    router.setOwnerLookup([](const QString &, const QString &) { return u"node-z"_s; });
    QCOMPARE(router.route(op(u"m"_s, u"k"_s)).local, false);
    router.setLocalNodeId(u"node-z"_s);
    QCOMPARE(router.route(op(u"m"_s, u"k"_s)), (OpRouter::Route { true, u"node-z"_s }));
}

QTEST_GUILESS_MAIN(TestOpRouter)
#include "tst_oprouter.moc"

#include "crdt/Hlc.h"

#include <QRandomGenerator>
#include <QTest>

using namespace wingman::crdt;

namespace {

// The messages "wingman.crdt" logged while a test ran.
QStringList g_messages;

void captureMessage(QtMsgType, const QMessageLogContext &context, const QString &message)
{
    if (QByteArray(context.category) == "wingman.crdt")
        g_messages.append(message);
}

// Captures "wingman.crdt" messages for as long as it lives.
class MessageCapture
{
public:
    MessageCapture()
        : m_previous(qInstallMessageHandler(captureMessage))
    {
        g_messages.clear();
    }
    ~MessageCapture() { qInstallMessageHandler(m_previous); }

private:
    QtMessageHandler m_previous;
};

// Brings hlc to exactly (millis, counter) with the fake clock at millis.
void driveTo(Hlc &hlc, qint64 &wall, qint64 millis, qint32 counter)
{
    wall = millis;
    for (qint32 i = 0; i <= counter; ++i)
        hlc.now();
}

} // namespace

class tst_Hlc : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void nowTakesWallClockWhenAhead();
    void nowCountsWithinMillisecond();
    void nowSurvivesClockGoingBack();
    void update_data();
    void update();
    void updateDriftIsLoggedAndAccepted();
    void updateDriftRejectedInStrictMode();
    void updateAtDriftLimitAccepted();
    void driftWarningsRateLimited();
    void counterOverflowMovesToNextMillisecond();
    void monotonicUnderRandomOperations();
    void lastTimestampCarriesNodeId();
    void defaultClockIsSystemClock();
    void validNodeIds_data();
    void validNodeIds();
};

void tst_Hlc::nowTakesWallClockWhenAhead()
{
    qint64 wall = 1000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    QCOMPARE(hlc.now(), (Timestamp { 1000, 0, QStringLiteral("n1") }));
    wall = 1005;
    QCOMPARE(hlc.now(), (Timestamp { 1005, 0, QStringLiteral("n1") }));
}

void tst_Hlc::nowCountsWithinMillisecond()
{
    qint64 wall = 1000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    hlc.now();
    QCOMPARE(hlc.now(), (Timestamp { 1000, 1, QStringLiteral("n1") }));
    QCOMPARE(hlc.now(), (Timestamp { 1000, 2, QStringLiteral("n1") }));
}

void tst_Hlc::nowSurvivesClockGoingBack()
{
    qint64 wall = 1000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    hlc.now();
    wall = 400;
    QCOMPARE(hlc.now(), (Timestamp { 1000, 1, QStringLiteral("n1") }));
}

void tst_Hlc::update_data()
{
    QTest::addColumn<qint64>("lastMillis");
    QTest::addColumn<qint32>("lastCounter");
    QTest::addColumn<qint64>("wall");
    QTest::addColumn<qint64>("remoteMillis");
    QTest::addColumn<qint32>("remoteCounter");
    QTest::addColumn<qint64>("expectedMillis");
    QTest::addColumn<qint32>("expectedCounter");

    // Branches of docs/core.md update(): m = max(last, wall, remote).
    QTest::newRow("m = last = remote, remote counter higher")
        << qint64(100) << 2 << qint64(100) << qint64(100) << 5 << qint64(100) << 6;
    QTest::newRow("m = last = remote, local counter higher")
        << qint64(100) << 2 << qint64(90) << qint64(100) << 1 << qint64(100) << 3;
    QTest::newRow("m = last only (last ahead of wall and remote)")
        << qint64(200) << 4 << qint64(100) << qint64(150) << 9 << qint64(200) << 5;
    QTest::newRow("m = last = wall, remote behind")
        << qint64(500) << 2 << qint64(500) << qint64(100) << 7 << qint64(500) << 3;
    QTest::newRow("m = remote only")
        << qint64(100) << 4 << qint64(100) << qint64(300) << 9 << qint64(300) << 10;
    QTest::newRow("m = remote = wall, last behind")
        << qint64(100) << 0 << qint64(300) << qint64(300) << 7 << qint64(300) << 8;
    QTest::newRow("m = wall only")
        << qint64(100) << 4 << qint64(500) << qint64(200) << 3 << qint64(500) << 0;
}

void tst_Hlc::update()
{
    QFETCH(qint64, lastMillis);
    QFETCH(qint32, lastCounter);
    QFETCH(qint64, wall);
    QFETCH(qint64, remoteMillis);
    QFETCH(qint32, remoteCounter);
    QFETCH(qint64, expectedMillis);
    QFETCH(qint32, expectedCounter);

    MessageCapture capture;
    qint64 clock = 0;
    Hlc hlc(QStringLiteral("local"), [&clock] { return clock; });
    driveTo(hlc, clock, lastMillis, lastCounter);
    QCOMPARE(hlc.lastTimestamp(), (Timestamp { lastMillis, lastCounter, QStringLiteral("local") }));

    clock = wall;
    QVERIFY(hlc.update(Timestamp { remoteMillis, remoteCounter, QStringLiteral("remote") }));
    QCOMPARE(hlc.lastTimestamp(),
        (Timestamp { expectedMillis, expectedCounter, QStringLiteral("local") }));
    QVERIFY(g_messages.isEmpty());
}

void tst_Hlc::updateDriftIsLoggedAndAccepted()
{
    MessageCapture capture;
    qint64 wall = 1000000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    const Timestamp ahead { wall + 70000, 3, QStringLiteral("fast") };
    QVERIFY(hlc.update(ahead));

    QCOMPARE(hlc.lastTimestamp(), (Timestamp { ahead.millis, 4, QStringLiteral("n1") }));
    QCOMPARE(g_messages.size(), 1);
    QVERIFY2(g_messages.first().contains(QLatin1StringView("clock drift")),
        qPrintable(g_messages.first()));
}

void tst_Hlc::updateDriftRejectedInStrictMode()
{
    MessageCapture capture;
    qint64 wall = 1000000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    hlc.setStrict(true);
    hlc.setMaxDriftMs(5000);
    hlc.now();
    const Timestamp before = hlc.lastTimestamp();
    QVERIFY(!hlc.update(Timestamp { wall + 5001, 0, QStringLiteral("fast") }));

    QCOMPARE(hlc.lastTimestamp(), before);
    QCOMPARE(g_messages.size(), 1);
    QVERIFY(g_messages.first().contains(QLatin1StringView("rejected")));
}

void tst_Hlc::updateAtDriftLimitAccepted()
{
    qint64 wall = 1000000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    hlc.setStrict(true);
    QCOMPARE(hlc.maxDriftMs(), Hlc::kDefaultMaxDriftMs);
    QVERIFY(hlc.update(Timestamp { wall + Hlc::kDefaultMaxDriftMs, 2, QStringLiteral("edge") }));
    QCOMPARE(hlc.lastTimestamp().millis, wall + Hlc::kDefaultMaxDriftMs);
    QCOMPARE(hlc.lastTimestamp().counter, 3);
}

void tst_Hlc::driftWarningsRateLimited()
{
    MessageCapture capture;
    qint64 wall = 1000000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    for (int i = 0; i < 100; ++i)
        hlc.update(Timestamp { wall + 120000, i, QStringLiteral("fast") });
    const qsizetype withinOneSecond = g_messages.size();
    wall += 1000;
    hlc.update(Timestamp { wall + 120000, 0, QStringLiteral("fast") });

    QCOMPARE(withinOneSecond, 1);
    QCOMPARE(g_messages.size(), 2);
    QVERIFY2(g_messages.last().contains(QLatin1StringView("99 similar warnings suppressed")),
        qPrintable(g_messages.last()));
}

void tst_Hlc::counterOverflowMovesToNextMillisecond()
{
    qint64 wall = 1000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    const qint32 max = std::numeric_limits<qint32>::max();
    QVERIFY(hlc.update(Timestamp { 1000, max, QStringLiteral("hostile") }));
    QCOMPARE(hlc.lastTimestamp(), (Timestamp { 1001, 0, QStringLiteral("n1") }));
    const Timestamp next = hlc.now();
    QVERIFY(next > (Timestamp { 1000, max, QStringLiteral("hostile") }));
}

void tst_Hlc::monotonicUnderRandomOperations()
{
    QRandomGenerator random(42);
    qint64 wall = 1700000000000;
    Hlc hlc(QStringLiteral("n1"), [&wall] { return wall; });
    Timestamp previous = hlc.now();
    for (int i = 0; i < 20000; ++i) {
        wall += random.bounded(-3, 4); // jitter, including going backwards
        if (random.bounded(2) == 0) {
            const Timestamp current = hlc.now();
            QVERIFY2(current > previous, qPrintable(current.toString()));
            previous = current;
        } else {
            const Timestamp remote { wall + random.bounded(-5, 6), qint32(random.bounded(5)),
                QStringLiteral("r") };
            QVERIFY(hlc.update(remote));
            const Timestamp current = hlc.lastTimestamp();
            QVERIFY(current > previous);
            QVERIFY(current.millis > remote.millis
                || (current.millis == remote.millis && current.counter > remote.counter));
            previous = current;
        }
    }
}

void tst_Hlc::lastTimestampCarriesNodeId()
{
    qint64 wall = 7;
    Hlc hlc(QStringLiteral("server-1"), [&wall] { return wall; });
    QCOMPARE(hlc.nodeId(), QStringLiteral("server-1"));
    QCOMPARE(hlc.lastTimestamp(), (Timestamp { 0, 0, QStringLiteral("server-1") }));
    QCOMPARE(hlc.now().nodeId, QStringLiteral("server-1"));
    QCOMPARE(hlc.clockMillis(), 7);
}

void tst_Hlc::defaultClockIsSystemClock()
{
    Hlc hlc(QStringLiteral("n1"));
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const Timestamp stamped = hlc.now();
    const qint64 after = QDateTime::currentMSecsSinceEpoch();
    QVERIFY(stamped.millis >= before && stamped.millis <= after);
}

void tst_Hlc::validNodeIds_data()
{
    QTest::addColumn<QString>("nodeId");
    QTest::addColumn<bool>("valid");

    QTest::newRow("plain") << "node-a" << true;
    QTest::newRow("uuid") << "3f2b8c1e-6a1d-4c3e-9a57-0b8f2f8a9e11" << true;
    QTest::newRow("unicode") << QString::fromUtf8("nöde") << true;
    QTest::newRow("empty") << "" << false;
    QTest::newRow("colon") << "node:1" << false;
    QTest::newRow("only colon") << ":" << false;
}

void tst_Hlc::validNodeIds()
{
    QFETCH(QString, nodeId);
    QFETCH(bool, valid);
    QCOMPARE(Hlc::isValidNodeId(nodeId), valid);
}

QTEST_APPLESS_MAIN(tst_Hlc)
#include "tst_hlc.moc"

#include "cluster/FailureDetector.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

using namespace wingman::cluster;

namespace {

struct Sent {
    QString to;
    QCborMap frame;
};

// Hooks over a fake cluster: who is probed, who has a link, and what was sent.
struct FakeCluster {
    QStringList targets;
    QStringList linked;
    QList<Sent> sent;

    FailureDetector::Hooks hooks()
    {
        FailureDetector::Hooks hooks;
        hooks.targets = [this] { return targets; };
        hooks.relays = [this](const QString &target) {
            QStringList relays = linked;
            relays.removeAll(target);
            return relays;
        };
        hooks.send = [this](const QString &to, const QCborMap &frame) {
            if (!linked.contains(to))
                return false;
            sent.append({ to, frame });
            return true;
        };
        return hooks;
    }
    // The last frame of this type sent to `to`.
    std::optional<QCborMap> last(const QString &to, const QString &type) const
    {
        for (auto it = sent.crbegin(); it != sent.crend(); ++it) {
            if (it->to == to && it->frame.value(QStringLiteral("type")).toString() == type)
                return it->frame;
        }
        return std::nullopt;
    }
};

qint64 seqOf(const QCborMap &frame)
{
    return frame.value(QStringLiteral("seq")).toInteger();
}

// Wraps hooks.send so that each direct PING is answered after *delayMs, as over a slow link, unless
// *silent; *pings counts them. The detector is read through a pointer, as it is made from hooks.
void answerPingsAfter(FailureDetector::Hooks &hooks, FailureDetector *const *detector,
    const int *delayMs, int *pings, const bool *silent = nullptr)
{
    hooks.send = [=, send = hooks.send](const QString &to, const QCborMap &frame) {
        if (!send(to, frame))
            return false;
        if (frame.value(QStringLiteral("type")).toString() != QStringLiteral("PING"))
            return true;
        ++*pings;
        if (silent && *silent)
            return true;
        const qint64 seq = seqOf(frame);
        QTimer::singleShot(*delayMs, *detector, [detector, seq] {
            (*detector)->handleAck(QStringLiteral("b"),
                QCborMap { { QStringLiteral("type"), QStringLiteral("ACK") },
                    { QStringLiteral("seq"), seq } });
        });
        return true;
    };
}

} // namespace

class tst_FailureDetector : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void directAckKeepsMemberAndMeasuresRtt()
    {
        FakeCluster cluster { { QStringLiteral("b") }, { QStringLiteral("b") }, {} };
        FailureDetector detector(cluster.hooks());
        QSignalSpy failed(&detector, &FailureDetector::probeFailed);
        detector.start(100);
        for (int round = 0; round < 3; ++round) {
            const auto ping = cluster.last(QStringLiteral("b"), QStringLiteral("PING"));
            QVERIFY(ping);
            detector.handleAck(QStringLiteral("b"),
                QCborMap { { QStringLiteral("type"), QStringLiteral("ACK") },
                    { QStringLiteral("seq"), seqOf(*ping) } });
            const qsizetype before = cluster.sent.size();
            QTRY_VERIFY_WITH_TIMEOUT(cluster.sent.size() > before, 1000);
        }
        QVERIFY(failed.isEmpty());
        QVERIFY(detector.rttMs(QStringLiteral("b")) >= 0);
        QCOMPARE(detector.probeFailures(QStringLiteral("b")), 0u);
    }

    void silenceFailsTheProbe()
    {
        FakeCluster cluster { { QStringLiteral("b") }, { QStringLiteral("b") }, {} };
        FailureDetector detector(cluster.hooks());
        QSignalSpy failed(&detector, &FailureDetector::probeFailed);
        detector.start(100);
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 1000);
        QCOMPARE(failed.first().first().toString(), QStringLiteral("b"));
        QVERIFY(detector.probeFailures(QStringLiteral("b")) >= 1);
    }

    // No link to c: a PING_REQ goes to b at once, and b's relayed ACK counts.
    void indirectProbeThroughARelay()
    {
        FakeCluster cluster { { QStringLiteral("b"), QStringLiteral("c") }, { QStringLiteral("b") },
            {} };
        FailureDetector detector(cluster.hooks());
        QSignalSpy failed(&detector, &FailureDetector::probeFailed);
        detector.start(200);
        const auto request = cluster.last(QStringLiteral("b"), QStringLiteral("PING_REQ"));
        QVERIFY(request);
        QCOMPARE(request->value(QStringLiteral("target")).toString(), QStringLiteral("c"));
        const auto ping = cluster.last(QStringLiteral("b"), QStringLiteral("PING"));
        QVERIFY(ping);
        detector.handleAck(QStringLiteral("b"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("ACK") },
                { QStringLiteral("seq"), seqOf(*ping) } });
        detector.handleAck(QStringLiteral("b"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("ACK") },
                { QStringLiteral("seq"), seqOf(*request) },
                { QStringLiteral("target"), QStringLiteral("c") } });
        // The next round starts with no failure reported for this one.
        const qsizetype before = cluster.sent.size();
        QTRY_VERIFY_WITH_TIMEOUT(cluster.sent.size() > before, 1000);
        QVERIFY(failed.isEmpty());
        QVERIFY(detector.rttMs(QStringLiteral("c")) < 0);
    }

    // As the relay: probe the target for the requester and hand its ACK back.
    void relaysAPingRequest()
    {
        FakeCluster cluster { {}, { QStringLiteral("a"), QStringLiteral("c") }, {} };
        FailureDetector detector(cluster.hooks());
        detector.handlePingReq(QStringLiteral("a"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("PING_REQ") },
                { QStringLiteral("seq"), 7 }, { QStringLiteral("target"), QStringLiteral("c") } });
        const auto ping = cluster.last(QStringLiteral("c"), QStringLiteral("PING"));
        QVERIFY(ping);
        // An ACK of that seq from anyone but the target is not relayed.
        detector.handleAck(QStringLiteral("a"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("ACK") },
                { QStringLiteral("seq"), seqOf(*ping) } });
        QVERIFY(!cluster.last(QStringLiteral("a"), QStringLiteral("ACK")));
        detector.handlePingReq(QStringLiteral("a"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("PING_REQ") },
                { QStringLiteral("seq"), 8 }, { QStringLiteral("target"), QStringLiteral("c") } });
        const auto second = cluster.last(QStringLiteral("c"), QStringLiteral("PING"));
        QVERIFY(second);
        detector.handleAck(QStringLiteral("c"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("ACK") },
                { QStringLiteral("seq"), seqOf(*second) } });
        const auto relayed = cluster.last(QStringLiteral("a"), QStringLiteral("ACK"));
        QVERIFY(relayed);
        QCOMPARE(seqOf(*relayed), 8);
        QCOMPARE(relayed->value(QStringLiteral("target")).toString(), QStringLiteral("c"));
    }

    // b answers every direct PING after a delay, as over a slow link. Once a round trip has been
    // measured, a probe waits twice that long, beyond the interval, before it fails; silence
    // still fails within four intervals.
    void slowMemberIsGivenTwiceItsRoundTrip()
    {
        FakeCluster cluster { { QStringLiteral("b") }, { QStringLiteral("b") }, {} };
        FailureDetector::Hooks hooks = cluster.hooks();
        FailureDetector *detector = nullptr;
        int delayMs = 60;
        bool silent = false;
        int pings = 0;
        answerPingsAfter(hooks, &detector, &delayMs, &pings, &silent);
        FailureDetector slowLink(hooks);
        detector = &slowLink;
        QSignalSpy failed(detector, &FailureDetector::probeFailed);
        detector->start(100);
        QTRY_VERIFY_WITH_TIMEOUT(pings >= 3, 5000);
        QVERIFY(detector->rttMs(QStringLiteral("b")) >= 60);
        QVERIFY(detector->deadlineMs(QStringLiteral("b")) >= 120);

        // Answers now take longer than the interval, but less than twice the last round trip.
        delayMs = 110;
        const int slowFrom = pings;
        QTRY_VERIFY_WITH_TIMEOUT(pings >= slowFrom + 4, 5000);
        QVERIFY2(failed.isEmpty(), "a slow but answering member was taken for a silent one");
        QVERIFY(detector->deadlineMs(QStringLiteral("b")) <= 400);

        silent = true;
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), 2000);
    }

    void lateAckCountsWhileTheMemberTalks_data()
    {
        QTest::addColumn<bool>("talking");
        QTest::newRow("talking") << true;
        QTest::newRow("quiet") << false;
    }

    // A fast link turns slower than the interval at once, so no round trip sample knows it yet.
    // A member that keeps talking on the link gets one more interval for its ACK; one that says
    // nothing else fails at the deadline.
    void lateAckCountsWhileTheMemberTalks()
    {
        QFETCH(bool, talking);
        FakeCluster cluster { { QStringLiteral("b") }, { QStringLiteral("b") }, {} };
        FailureDetector::Hooks hooks = cluster.hooks();
        FailureDetector *detector = nullptr;
        int delayMs = 1;
        int pings = 0;
        QElapsedTimer heard;
        heard.start();
        QTimer chatter;
        QObject::connect(&chatter, &QTimer::timeout, [&] { heard.start(); });
        chatter.start(20);
        hooks.silentMs = [&](const QString &) { return heard.elapsed(); };
        answerPingsAfter(hooks, &detector, &delayMs, &pings);
        FailureDetector jumpy(hooks);
        detector = &jumpy;
        QSignalSpy failed(detector, &FailureDetector::probeFailed);
        detector->start(200);
        QTRY_VERIFY_WITH_TIMEOUT(pings >= 3, 5000);
        QCOMPARE(detector->deadlineMs(QStringLiteral("b")), 200);
        QVERIFY(failed.isEmpty());

        // Answers now come after 300 ms: past the 200 ms deadline, halfway into one more interval
        // (clear of the coarse timer's 5 %).
        delayMs = 300;
        if (!talking)
            chatter.stop();
        const int slowFrom = pings;
        QTRY_VERIFY_WITH_TIMEOUT(pings >= slowFrom + 4, 5000);
        if (talking) {
            QVERIFY2(failed.isEmpty(), "a talking member's late ACK was not waited for");
            QVERIFY(detector->deadlineMs(QStringLiteral("b")) >= 600);
        } else {
            QVERIFY(!failed.isEmpty());
            QCOMPARE(failed.first().first().toString(), QStringLiteral("b"));
        }
    }

    void answersPings()
    {
        FakeCluster cluster { {}, { QStringLiteral("a") }, {} };
        FailureDetector detector(cluster.hooks());
        detector.handlePing(QStringLiteral("a"),
            QCborMap { { QStringLiteral("type"), QStringLiteral("PING") },
                { QStringLiteral("seq"), 42 } });
        const auto ack = cluster.last(QStringLiteral("a"), QStringLiteral("ACK"));
        QVERIFY(ack);
        QCOMPARE(seqOf(*ack), 42);
    }
};

QTEST_GUILESS_MAIN(tst_FailureDetector)
#include "tst_failuredetector.moc"

#include "client/ReconnectBackoff.h"

#include <QTest>

using namespace wingman::client;

class tst_ReconnectBackoff : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void withoutJitterDoublesUpToTheCap()
    {
        ReconnectBackoff backoff(1000, 30000, 0.0, 0);
        QList<int> delays;
        for (int i = 0; i < 8; ++i)
            delays.append(*backoff.nextDelay());
        QCOMPARE(delays, (QList<int> { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 }));
        QCOMPARE(backoff.attempts(), 8);
    }

    void jitterStaysWithinHalfEitherWay()
    {
        ReconnectBackoff backoff(1000, 30000, 0.5, 0);
        backoff.seed(42);
        int below = 0;
        int above = 0;
        for (int round = 0; round < 200; ++round) {
            backoff.reset();
            const int first = *backoff.nextDelay();
            QVERIFY2(first >= 500 && first <= 1500, qPrintable(QString::number(first)));
            below += first < 1000;
            above += first > 1000;
            const int second = *backoff.nextDelay();
            QVERIFY(second >= 1000 && second <= 3000);
        }
        // Jitter really varies the delay, both ways.
        QVERIFY(below > 20);
        QVERIFY(above > 20);
    }

    void cappedDelayIsJitteredToo()
    {
        ReconnectBackoff backoff(1000, 4000, 0.5, 0);
        backoff.seed(7);
        for (int i = 0; i < 40; ++i) {
            const int delay = *backoff.nextDelay();
            QVERIFY(delay <= 6000);
        }
    }

    void attemptsRunOut()
    {
        ReconnectBackoff backoff(100, 1000, 0.5, 3);
        QVERIFY(backoff.nextDelay());
        QVERIFY(backoff.nextDelay());
        QVERIFY(backoff.nextDelay());
        QVERIFY(!backoff.nextDelay());
        backoff.reset();
        QCOMPARE(backoff.attempts(), 0);
        QVERIFY(backoff.nextDelay());
    }

    void resetStartsFromTheBase()
    {
        ReconnectBackoff backoff(50, 30000, 0.0, 0);
        for (int i = 0; i < 5; ++i)
            backoff.nextDelay();
        backoff.reset();
        QCOMPARE(*backoff.nextDelay(), 50);
    }

    void manyAttemptsDoNotOverflow()
    {
        ReconnectBackoff backoff(1000, 30000, 0.0, 0);
        for (int i = 0; i < 100; ++i)
            QCOMPARE(*backoff.nextDelay(), i < 5 ? 1000 << i : 30000);
    }
};

QTEST_GUILESS_MAIN(tst_ReconnectBackoff)
#include "tst_reconnectbackoff.moc"

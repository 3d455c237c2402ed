#include "crdt/PnCounter.h"

#include <QCborArray>
#include <QRandomGenerator>
#include <QTest>

using namespace wingman::crdt;

class tst_PnCounter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void incrementAndDecrement();
    void negativeAmountsSwitchSides();
    void mergeTakesPerNodeMaximum();
    void mergeIsCommutativeAssociativeIdempotent();
    void cborRoundTrip();
    void cborShape();
    void fromCborAcceptsWholeDoubles();
    void fromCborRejects_data();
    void fromCborRejects();
};

void tst_PnCounter::incrementAndDecrement()
{
    PnCounter counter;
    QCOMPARE(counter.value(), 0);
    QCOMPARE(counter.increment(QStringLiteral("a")), 1);
    QCOMPARE(counter.increment(QStringLiteral("a"), 4), 5);
    QCOMPARE(counter.decrement(QStringLiteral("b"), 2), 3);
    QCOMPARE(counter.decrement(QStringLiteral("a")), 2);
    QCOMPARE(counter.positive().value(QStringLiteral("a")), 5);
    QCOMPARE(counter.negative().value(QStringLiteral("a")), 1);
    QCOMPARE(counter.negative().value(QStringLiteral("b")), 2);
}

void tst_PnCounter::negativeAmountsSwitchSides()
{
    PnCounter counter;
    QCOMPARE(counter.increment(QStringLiteral("a"), -3), -3);
    QCOMPARE(counter.negative().value(QStringLiteral("a")), 3);
    QVERIFY(counter.positive().isEmpty());
    QCOMPARE(counter.decrement(QStringLiteral("a"), -5), 2);
    QCOMPARE(counter.positive().value(QStringLiteral("a")), 5);
}

void tst_PnCounter::mergeTakesPerNodeMaximum()
{
    PnCounter a;
    a.increment(QStringLiteral("n1"), 5);
    a.decrement(QStringLiteral("n2"), 1);
    PnCounter b;
    b.increment(QStringLiteral("n1"), 3);
    b.increment(QStringLiteral("n2"), 7);
    b.decrement(QStringLiteral("n2"), 4);

    QVERIFY(a.merge(b));
    QCOMPARE(a.positive().value(QStringLiteral("n1")), 5);
    QCOMPARE(a.positive().value(QStringLiteral("n2")), 7);
    QCOMPARE(a.negative().value(QStringLiteral("n2")), 4);
    QCOMPARE(a.value(), 5 + 7 - 4);
    QVERIFY(!a.merge(b)); // nothing new
}

void tst_PnCounter::mergeIsCommutativeAssociativeIdempotent()
{
    QRandomGenerator random(2024);
    const QStringList nodes { "n1", "n2", "n3" };
    for (int round = 0; round < 50; ++round) {
        PnCounter replicas[3];
        for (int op = 0; op < 30; ++op) {
            PnCounter &replica = replicas[random.bounded(3)];
            const QString node = nodes[random.bounded(3)];
            if (random.bounded(2))
                replica.increment(node, random.bounded(1, 10));
            else
                replica.decrement(node, random.bounded(1, 10));
        }
        const auto &[a, b, c] = replicas;

        PnCounter ab = a;
        ab.merge(b);
        PnCounter ba = b;
        ba.merge(a);
        QCOMPARE(ab, ba);

        PnCounter abThenC = ab;
        abThenC.merge(c);
        PnCounter bc = b;
        bc.merge(c);
        PnCounter aThenBc = a;
        aThenBc.merge(bc);
        QCOMPARE(abThenC, aThenBc);

        PnCounter aa = a;
        QVERIFY(!aa.merge(a));
        QCOMPARE(aa, a);
    }
}

void tst_PnCounter::cborRoundTrip()
{
    PnCounter counter;
    counter.increment(QStringLiteral("n1"), 10);
    counter.decrement(QStringLiteral("n2"), 3);
    const auto decoded = PnCounter::fromCbor(counter.toCbor());
    QVERIFY(decoded);
    QCOMPARE(*decoded, counter);
    QCOMPARE(decoded->value(), 7);
}

void tst_PnCounter::cborShape()
{
    PnCounter counter;
    counter.increment(QStringLiteral("n1"), 2);
    const QCborMap state = counter.toCbor();
    QCOMPARE(state.size(), 2);
    QCOMPARE(state.value(QStringLiteral("p")).toMap().value(QStringLiteral("n1")).toInteger(), 2);
    QVERIFY(state.value(QStringLiteral("n")).isMap());
    QVERIFY(state.value(QStringLiteral("n")).toMap().isEmpty());
}

void tst_PnCounter::fromCborAcceptsWholeDoubles()
{
    QCborMap positive;
    positive.insert(QStringLiteral("n1"), 4.0);
    QCborMap state;
    state.insert(QStringLiteral("p"), positive);
    const auto decoded = PnCounter::fromCbor(state);
    QVERIFY(decoded);
    QCOMPARE(decoded->value(), 4);
    QVERIFY(decoded->negative().isEmpty());
}

void tst_PnCounter::fromCborRejects_data()
{
    QTest::addColumn<QCborValue>("value");

    auto state = [](const QCborValue &p, const QCborValue &n) {
        QCborMap map;
        map.insert(QStringLiteral("p"), p);
        map.insert(QStringLiteral("n"), n);
        return QCborValue(map);
    };
    auto side = [](const QCborValue &key, const QCborValue &count) {
        QCborMap map;
        map.insert(key, count);
        return QCborValue(map);
    };
    QTest::newRow("not a map") << QCborValue(QCborArray { 1 });
    QTest::newRow("side not a map") << state(QCborValue(3), QCborMap());
    QTest::newRow("negative count") << state(side("n1", -1), QCborMap());
    QTest::newRow("fractional count") << state(QCborMap(), side("n1", 1.5));
    QTest::newRow("string count") << state(side("n1", "5"), QCborMap());
    QTest::newRow("NaN count") << state(side("n1", std::nan("")), QCborMap());
    QTest::newRow("integer node id") << state(side(7, 1), QCborMap());
}

void tst_PnCounter::fromCborRejects()
{
    QFETCH(QCborValue, value);
    QVERIFY(!PnCounter::fromCbor(value));
}

QTEST_APPLESS_MAIN(tst_PnCounter)
#include "tst_pncounter.moc"

#include "primitives/CounterState.h"

#include <QCborArray>
#include <QTest>

#include <limits>

using namespace wingman;
using primitives::CounterState;

namespace {
QCborMap side(std::initializer_list<std::pair<QString, QCborValue>> counts)
{
    QCborMap map;
    for (const auto &[node, count] : counts)
        map.insert(node, count);
    return map;
}
} // namespace

// The PN counter state clients exchange: both key pairs in, all four keys out.
class tst_CounterState : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsEitherPairAndMissingSides()
    {
        const auto topGun = CounterState::fromCbor(
            QCborMap { { QStringLiteral("positive"), side({ { QStringLiteral("a"), 3 } }) } });
        QVERIFY(topGun);
        QCOMPARE(topGun->value(), 3.0);
        QVERIFY(topGun->negative().isEmpty());

        const auto short_ = CounterState::fromCbor(
            QCborMap { { QStringLiteral("p"), side({ { QStringLiteral("a"), 3 } }) },
                { QStringLiteral("n"), side({ { QStringLiteral("b"), 1.5 } }) } });
        QVERIFY(short_);
        QCOMPARE(short_->value(), 1.5);

        const auto empty = CounterState::fromCbor(QCborMap {});
        QVERIFY(empty && empty->isEmpty());
    }

    void refusesCountsThatAreNotFiniteAndNonNegative()
    {
        QString why;
        QVERIFY(!CounterState::fromCbor(
            QCborMap { { QStringLiteral("p"), side({ { QStringLiteral("a"), -1 } }) } }, &why));
        QVERIFY(why.contains(QStringLiteral("state.p.a")));
        QVERIFY(!CounterState::fromCbor(QCborMap { { QStringLiteral("negative"),
            side({ { QStringLiteral("a"), std::numeric_limits<double>::infinity() } }) } }));
        QVERIFY(!CounterState::fromCbor(
            QCborMap { { QStringLiteral("n"), side({ { QStringLiteral("a"), true } }) } }));
        QVERIFY(!CounterState::fromCbor(QCborMap { { QStringLiteral("p"), QCborArray {} } }));
    }

    void mergesByPerNodeMaximumAndWritesAllFourKeys()
    {
        auto state = CounterState::fromCbor(QCborMap { { QStringLiteral("p"),
            side({ { QStringLiteral("a"), 5 }, { QStringLiteral("b"), 1 } }) } });
        const auto other = CounterState::fromCbor(
            QCborMap { { QStringLiteral("p"),
                           side({ { QStringLiteral("a"), 2 }, { QStringLiteral("c"), 4 } }) },
                { QStringLiteral("n"), side({ { QStringLiteral("a"), 0.5 } }) } });
        QVERIFY(state && other);
        QVERIFY(state->merge(*other));
        QVERIFY(!state->merge(*other));
        QCOMPARE(state->value(), 9.5);

        const QCborMap written = state->toCbor();
        QCOMPARE(written.keys().size(), 4);
        QCOMPARE(written.value(QStringLiteral("p")), written.value(QStringLiteral("positive")));
        QCOMPARE(written.value(QStringLiteral("n")), written.value(QStringLiteral("negative")));
        const QCborValue five
            = written.value(QStringLiteral("p")).toMap().value(QStringLiteral("a"));
        QVERIFY(five.isInteger());
        QCOMPARE(five.toInteger(), 5);
        QCOMPARE(CounterState::fromJson(state->toJson()), *state);
    }
};

QTEST_GUILESS_MAIN(tst_CounterState)
#include "tst_counterstate.moc"

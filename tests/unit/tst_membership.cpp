#include "cluster/Membership.h"

#include <QTest>

using namespace wingman::cluster;

Q_DECLARE_METATYPE(wingman::cluster::MemberState)

namespace {

MemberInfo member(const QString &id, MemberState state, qint64 incarnation)
{
    return { id, id + QStringLiteral(":9080"), QStringLiteral("ws://%1:8080").arg(id), state,
        incarnation };
}

} // namespace

class tst_Membership : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void merge_data()
    {
        QTest::addColumn<MemberState>("heldState");
        QTest::addColumn<qint64>("heldIncarnation");
        QTest::addColumn<MemberState>("gossipState");
        QTest::addColumn<qint64>("gossipIncarnation");
        QTest::addColumn<MemberState>("result");
        using S = MemberState;
        QTest::newRow("higher incarnation up beats down")
            << S::Down << 5LL << S::Up << 6LL << S::Up;
        QTest::newRow("lower incarnation down loses") << S::Up << 5LL << S::Down << 4LL << S::Up;
        QTest::newRow("equal: suspect beats up") << S::Up << 5LL << S::Suspect << 5LL << S::Suspect;
        QTest::newRow("equal: down beats suspect")
            << S::Suspect << 5LL << S::Down << 5LL << S::Down;
        QTest::newRow("equal: up does not beat suspect")
            << S::Suspect << 5LL << S::Up << 5LL << S::Suspect;
        QTest::newRow("equal: suspect does not beat down")
            << S::Down << 5LL << S::Suspect << 5LL << S::Down;
        QTest::newRow("equal: left beats down") << S::Down << 5LL << S::Left << 5LL << S::Left;
        QTest::newRow("equal: joining does not beat up")
            << S::Up << 5LL << S::Joining << 5LL << S::Up;
        QTest::newRow("equal: up beats joining") << S::Joining << 5LL << S::Up << 5LL << S::Up;
        QTest::newRow("higher incarnation joining beats left (a restart)")
            << S::Left << 5LL << S::Joining << 900LL << S::Joining;
        QTest::newRow("higher incarnation leaving beats up")
            << S::Up << 5LL << S::Leaving << 6LL << S::Leaving;
    }

    void merge()
    {
        QFETCH(MemberState, heldState);
        QFETCH(qint64, heldIncarnation);
        QFETCH(MemberState, gossipState);
        QFETCH(qint64, gossipIncarnation);
        QFETCH(MemberState, result);
        Membership membership(member(QStringLiteral("self"), MemberState::Up, 1));
        QCOMPARE(membership.apply(member(QStringLiteral("b"), heldState, heldIncarnation)),
            Membership::Outcome::Changed);
        const Membership::Outcome outcome
            = membership.apply(member(QStringLiteral("b"), gossipState, gossipIncarnation));
        const MemberInfo *held = membership.find(QStringLiteral("b"));
        QVERIFY(held);
        QCOMPARE(held->state, result);
        QCOMPARE(outcome,
            result == heldState && held->incarnation == heldIncarnation
                ? Membership::Outcome::Unchanged
                : Membership::Outcome::Changed);
        QCOMPARE(held->incarnation, std::max(heldIncarnation, gossipIncarnation));
    }

    void refutation_data()
    {
        QTest::addColumn<MemberState>("gossipState");
        QTest::addColumn<qint64>("gossipIncarnation");
        QTest::addColumn<bool>("refuted");
        using S = MemberState;
        QTest::newRow("suspect at our incarnation") << S::Suspect << 10LL << true;
        QTest::newRow("down at a higher incarnation") << S::Down << 12LL << true;
        QTest::newRow("left at our incarnation") << S::Left << 10LL << true;
        QTest::newRow("suspect at an old incarnation") << S::Suspect << 9LL << false;
        QTest::newRow("up is no doubt") << S::Up << 11LL << false;
    }

    // Only a member raises its own incarnation, past the doubt it hears.
    void refutation()
    {
        QFETCH(MemberState, gossipState);
        QFETCH(qint64, gossipIncarnation);
        QFETCH(bool, refuted);
        Membership membership(member(QStringLiteral("self"), MemberState::Up, 10));
        const auto outcome
            = membership.apply(member(QStringLiteral("self"), gossipState, gossipIncarnation));
        QCOMPARE(outcome, refuted ? Membership::Outcome::Refuted : Membership::Outcome::Unchanged);
        QCOMPARE(membership.self().state, MemberState::Up);
        QCOMPARE(membership.self().incarnation, refuted ? gossipIncarnation + 1 : 10);
    }

    void leavingNodeDoesNotRefute()
    {
        Membership membership(member(QStringLiteral("self"), MemberState::Up, 10));
        membership.setSelfState(MemberState::Leaving);
        QCOMPARE(membership.self().incarnation, 11);
        QCOMPARE(membership.apply(member(QStringLiteral("self"), MemberState::Left, 11)),
            Membership::Outcome::Unchanged);
    }

    // A local opinion keeps the incarnation, so the member can refute it.
    void markKeepsIncarnation()
    {
        Membership membership(member(QStringLiteral("self"), MemberState::Up, 1));
        membership.apply(member(QStringLiteral("b"), MemberState::Up, 7));
        QVERIFY(membership.mark(QStringLiteral("b"), MemberState::Suspect));
        QVERIFY(!membership.mark(QStringLiteral("b"), MemberState::Suspect));
        QVERIFY(!membership.mark(QStringLiteral("self"), MemberState::Down));
        QCOMPARE(membership.find(QStringLiteral("b"))->incarnation, 7);
        QCOMPARE(membership.apply(member(QStringLiteral("b"), MemberState::Up, 8)),
            Membership::Outcome::Changed);
        QCOMPARE(membership.find(QStringLiteral("b"))->state, MemberState::Up);
        membership.forget(QStringLiteral("b"));
        QVERIFY(!membership.find(QStringLiteral("b")));
        QCOMPARE(membership.all().size(), 1);
    }

    void wireForm()
    {
        const MemberInfo info = member(QStringLiteral("b"), MemberState::Suspect, 1700000000000);
        QCOMPARE(MemberInfo::fromCbor(info.toCbor()), std::optional(info));
        QCOMPARE(
            info.toCbor().value(QStringLiteral("state")).toString(), QStringLiteral("suspect"));
        QVERIFY(
            !MemberInfo::fromCbor(QCborMap { { QStringLiteral("nodeId"), QStringLiteral("x") } }));
    }
};

QTEST_GUILESS_MAIN(tst_Membership)
#include "tst_membership.moc"

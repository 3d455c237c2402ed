#include "crdt/Timestamp.h"

#include <QTest>

#include <atomic>
#include <thread>
#include <vector>

using namespace wingman::crdt;

class tst_Timestamp : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void toStringFormat();
    void roundTrip_data();
    void roundTrip();
    void malformed_data();
    void malformed();
    void orderByMillisThenCounter();
    void compareNodeIds_data();
    void compareNodeIds();
    void tiesBreakByLocaleCompare();
    void equalTextInSeparateBuffers();
    void compareNodeIdsConcurrently();
};

void tst_Timestamp::toStringFormat()
{
    QCOMPARE((Timestamp { 1700000000000, 3, QStringLiteral("node-b") }.toString()),
        QStringLiteral("1700000000000:3:node-b"));
    QCOMPARE((Timestamp { 0, 0, QStringLiteral("n") }.toString()), QStringLiteral("0:0:n"));
}

void tst_Timestamp::roundTrip_data()
{
    QTest::addColumn<qint64>("millis");
    QTest::addColumn<qint32>("counter");
    QTest::addColumn<QString>("nodeId");

    QTest::newRow("typical") << qint64(1700000000000) << 0 << "node-a";
    QTest::newRow("counter") << qint64(1700000000001) << 3 << "client-x";
    QTest::newRow("zero") << qint64(0) << 0 << "z";
    QTest::newRow("limits") << std::numeric_limits<qint64>::max()
                            << std::numeric_limits<qint32>::max() << "max";
    QTest::newRow("unicode node") << qint64(5) << 1 << QString::fromUtf8("nöde-日本");
    QTest::newRow("spaces in node") << qint64(5) << 1 << " a b ";
}

void tst_Timestamp::roundTrip()
{
    QFETCH(qint64, millis);
    QFETCH(qint32, counter);
    QFETCH(QString, nodeId);

    const Timestamp original { millis, counter, nodeId };
    const auto parsed = Timestamp::fromString(original.toString());
    QVERIFY(parsed);
    QCOMPARE(*parsed, original);
}

void tst_Timestamp::malformed_data()
{
    QTest::addColumn<QString>("text");

    QTest::newRow("empty") << "";
    QTest::newRow("one part") << "1700000000000";
    QTest::newRow("two parts") << "1700000000000:0";
    QTest::newRow("four parts") << "1700000000000:0:node:x";
    QTest::newRow("empty node id") << "1700000000000:0:";
    QTest::newRow("empty millis") << ":0:n";
    QTest::newRow("empty counter") << "1:::n";
    QTest::newRow("letters in millis") << "17x:0:n";
    QTest::newRow("letters in counter") << "1:b:n";
    QTest::newRow("fractional millis") << "1.5:0:n";
    QTest::newRow("fractional counter") << "1:2.0:n";
    QTest::newRow("exponent") << "1e3:0:n";
    QTest::newRow("hex") << "0x10:0:n";
    QTest::newRow("leading space") << " 1:0:n";
    QTest::newRow("trailing space") << "1 :0:n";
    QTest::newRow("negative millis") << "-1:0:n";
    QTest::newRow("plus sign") << "+1:0:n";
    QTest::newRow("negative counter") << "1:-1:n";
    QTest::newRow("millis overflow") << "9223372036854775808:0:n";
    QTest::newRow("counter overflow") << "1:2147483648:n";
    QTest::newRow("arabic digits") << QString::fromUtf8("١:0:n");
}

void tst_Timestamp::malformed()
{
    QFETCH(QString, text);
    QVERIFY(!Timestamp::fromString(text));
}

void tst_Timestamp::orderByMillisThenCounter()
{
    const Timestamp base { 100, 5, QStringLiteral("z") };
    QVERIFY((Timestamp { 101, 0, QStringLiteral("a") }) > base);
    QVERIFY((Timestamp { 99, 9, QStringLiteral("zz") }) < base);
    QVERIFY((Timestamp { 100, 6, QStringLiteral("a") }) > base);
    QVERIFY((Timestamp { 100, 4, QStringLiteral("zz") }) < base);
    QVERIFY((Timestamp { 100, 5, QStringLiteral("z") }) == base);
    QCOMPARE((Timestamp { 100, 5, QStringLiteral("z") } <=> base), std::strong_ordering::equal);
}

void tst_Timestamp::compareNodeIds_data()
{
    QTest::addColumn<QString>("a");
    QTest::addColumn<QString>("b");
    QTest::addColumn<int>("expected");

    // Expected signs are what Node.js 20 (ICU 78) returns for a.localeCompare(b).
    QTest::newRow("lower before upper letter") << "a"
                                               << "B" << -1;
    QTest::newRow("underscore before hyphen") << "a_b"
                                              << "a-b" << -1;
    QTest::newRow("same letter lower first") << "a"
                                             << "A" << -1;
    QTest::newRow("case after letters") << "Node"
                                        << "node" << 1;
    QTest::newRow("letters before case") << "node-a"
                                         << "node-B" << -1;
    QTest::newRow("not numeric") << "node-2"
                                 << "node-10" << 1;
    QTest::newRow("not byte order") << "Zeta"
                                    << "alpha" << 1;
    QTest::newRow("accent primary") << QString::fromUtf8("é") << "f" << -1;
    QTest::newRow("accent secondary") << "e" << QString::fromUtf8("é") << -1;
    QTest::newRow("digits before letters") << "1"
                                           << "a" << -1;
    QTest::newRow("underscore before hyphen again") << "node_1"
                                                    << "node-1" << -1;
    QTest::newRow("space first") << "a b"
                                 << "ab" << -1;
    QTest::newRow("dot after hyphen") << "a.b"
                                      << "a-b" << 1;
    QTest::newRow("hyphen before dot") << "x-1"
                                       << "x.1" << -1;
    QTest::newRow("prefix first") << "ab"
                                  << "a" << 1;
    QTest::newRow("client before node") << "client-x"
                                        << "node-a" << -1;
    QTest::newRow("identical") << "node-a"
                               << "node-a" << 0;
    QTest::newRow("canonically equivalent")
        << QString::fromUtf8("é") << QString::fromUtf8("e\xcc\x81") << 0;
}

void tst_Timestamp::compareNodeIds()
{
    QFETCH(QString, a);
    QFETCH(QString, b);
    QFETCH(int, expected);

    QCOMPARE(wingman::crdt::compareNodeIds(a, b), expected);
    QCOMPARE(wingman::crdt::compareNodeIds(b, a), -expected);
}

void tst_Timestamp::tiesBreakByLocaleCompare()
{
    const Timestamp lower { 1700000000000, 0, QStringLiteral("a") };
    const Timestamp upper { 1700000000000, 0, QStringLiteral("B") };
    QVERIFY(lower < upper); // byte order would say "B" < "a"
    QVERIFY(
        (Timestamp { 1, 1, QStringLiteral("a_b") }) < (Timestamp { 1, 1, QStringLiteral("a-b") }));
}

void tst_Timestamp::equalTextInSeparateBuffers()
{
    const QString a = QStringLiteral("node-") + QString::number(7);
    const QString b = QString::fromLatin1("node-7");
    QVERIFY(a.constData() != b.constData());
    QCOMPARE(wingman::crdt::compareNodeIds(a, b), 0);
    QCOMPARE((Timestamp { 1, 2, a } <=> Timestamp { 1, 2, b }), std::strong_ordering::equal);
}

void tst_Timestamp::compareNodeIdsConcurrently()
{
    // Each thread needs its own collator; a shared one corrupts results or crashes.
    std::atomic<int> wrong { 0 };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&wrong] {
            const QString a = QStringLiteral("a_b");
            const QString b = QStringLiteral("a-b");
            const QString upper = QStringLiteral("B");
            for (int i = 0; i < 20000; ++i) {
                if (wingman::crdt::compareNodeIds(a, b) != -1
                    || wingman::crdt::compareNodeIds(upper, QStringLiteral("a")) != 1)
                    ++wrong;
            }
        });
    }
    for (auto &thread : threads)
        thread.join();
    QCOMPARE(wrong.load(), 0);
}

QTEST_APPLESS_MAIN(tst_Timestamp)
#include "tst_timestamp.moc"

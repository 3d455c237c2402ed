#include "crdt/Hash.h"

#include <QRandomGenerator>
#include <QTest>

using namespace wingman::crdt;

class tst_Hash : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void vectors_data();
    void vectors();
    void incrementalEqualsWhole();
    void decimal_data();
    void decimal();
    void decimalManyValues();
    void latin1EqualsUtf16();
    void hexDigitsPadded();
};

void tst_Hash::vectors_data()
{
    QTest::addColumn<QString>("input");
    QTest::addColumn<quint32>("expected");
    QTest::addColumn<QString>("hex");

    // docs/core.md "Test vectors: hash".
    QTest::newRow("empty") << QString() << 2166136261u << "811c9dc5";
    QTest::newRow("a") << "a" << 3826002220u << "e40c292c";
    QTest::newRow("key1") << "key1" << 927623783u << "374a6a67";
    QTest::newRow("key-a") << "key-a" << 668985526u << "27dfe8b6";
    QTest::newRow("héllo") << QString::fromUtf8("héllo") << 4058363231u << "f1e5b55f";
    QTest::newRow("日本") << QString::fromUtf8("日本") << 1610399396u << "5ffcbea4";
    QTest::newRow("emoji (surrogate pair)") << QString::fromUtf8("😀") << 3409036472u << "cb31c4b8";
    QTest::newRow("user:42") << "user:42" << 795573122u << "2f6b7b82";
}

void tst_Hash::vectors()
{
    QFETCH(QString, input);
    QFETCH(quint32, expected);
    QFETCH(QString, hex);

    QCOMPARE(hash(input), expected);
    QCOMPARE(Hash::of(input), expected);
    QCOMPARE(Hash::toHex(hash(input)), hex);
}

void tst_Hash::incrementalEqualsWhole()
{
    const QString whole = QStringLiteral("key1:1700000000000:0:node-a");
    const quint32 pieces = Hash()
                               .add(QStringLiteral("key1"))
                               .add(u':')
                               .addDecimal(1700000000000)
                               .add(u':')
                               .addDecimal(0)
                               .add(QLatin1StringView(":node-a"))
                               .value();
    QCOMPARE(pieces, hash(whole));
    QCOMPARE(pieces, 356983709u); // docs/core.md itemHash of key1
}

void tst_Hash::decimal_data()
{
    QTest::addColumn<qint64>("value");
    QTest::newRow("zero") << qint64(0);
    QTest::newRow("one digit") << qint64(7);
    QTest::newRow("negative") << qint64(-42);
    QTest::newRow("millis") << qint64(1700000000002);
    QTest::newRow("max") << std::numeric_limits<qint64>::max();
    QTest::newRow("min") << std::numeric_limits<qint64>::min();
}

void tst_Hash::decimal()
{
    QFETCH(qint64, value);
    QCOMPARE(Hash().addDecimal(value).value(), hash(QString::number(value)));
}

void tst_Hash::decimalManyValues()
{
    QRandomGenerator random(31);
    for (qint64 value = -20000; value <= 20000; ++value)
        QCOMPARE(Hash().addDecimal(value).value(), hash(QString::number(value)));
    for (int i = 0; i < 20000; ++i) {
        const auto value = qint64(random.generate64());
        QCOMPARE(Hash().addDecimal(value).value(), hash(QString::number(value)));
    }
}

void tst_Hash::latin1EqualsUtf16()
{
    const QByteArray latin1("caf\xe9 key", 8);
    QCOMPARE(Hash().add(QLatin1StringView(latin1)).value(), hash(QString::fromLatin1(latin1)));
}

void tst_Hash::hexDigitsPadded()
{
    QCOMPARE(Hash::toHex(0), QStringLiteral("00000000"));
    QCOMPARE(Hash::toHex(0xabc), QStringLiteral("00000abc"));
    QCOMPARE(Hash::toHex(0xffffffffu), QStringLiteral("ffffffff"));
    const auto digits = Hash::hexDigits(0x0123abcdu);
    QCOMPARE(
        QString(reinterpret_cast<const QChar *>(digits.data()), 8), QStringLiteral("0123abcd"));
}

QTEST_APPLESS_MAIN(tst_Hash)
#include "tst_hash.moc"

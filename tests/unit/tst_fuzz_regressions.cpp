// Inputs the libFuzzer targets of tests/fuzz found to break an invariant, each fed through the
// same entry point as its target. The inputs stay in the targets' corpora
// (tests/fuzz/corpus/<target>/regression-*).
#include "crdt/Value.h"
#include "query/Matcher.h"
#include "query/Query.h"
#include "wire/MsgPackCodec.h"

#include <QFile>
#include <QTest>

using namespace wingman;

namespace {

QByteArray corpusInput(const char *target, const char *name)
{
    QFile file(QStringLiteral(WINGMAN_SOURCE_DIR "/tests/fuzz/corpus/%1/%2")
                   .arg(QLatin1StringView(target), QLatin1StringView(name)));
    if (!file.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", qPrintable(file.fileName()));
    return file.readAll();
}

// fuzz_query's reading of its input: one query, then packed record values.
struct QueryInput {
    std::optional<query::Query> query;
    QList<QByteArray> records;
};

QueryInput splitQueryInput(QByteArrayView input)
{
    QueryInput result;
    const qsizetype querySize = wire::MsgPackCodec::valueSize(input);
    if (querySize <= 0)
        return result;
    QString error;
    result.query
        = query::Query::fromCbor(wire::MsgPackCodec::decode(input.first(querySize)).value, &error);
    input = input.sliced(querySize);
    while (!input.isEmpty()) {
        const qsizetype size = wire::MsgPackCodec::valueSize(input);
        if (size <= 0)
            break;
        result.records.append(input.first(size).toByteArray());
        input = input.sliced(size);
    }
    return result;
}

} // namespace

class TestFuzzRegressions : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void queryExt8UndefinedRecord();
};

// A record value spelled ext8 (length 1, type 0) decodes as undefined, a tombstone's value, but
// read packed it was live and matched the empty query.
void TestFuzzRegressions::queryExt8UndefinedRecord()
{
    const QueryInput input
        = splitQueryInput(corpusInput("fuzz_query", "regression-ext8-undefined"));
    QVERIFY(input.query.has_value());
    QVERIFY(!input.records.isEmpty());
    QCOMPARE(input.records.first(), QByteArray::fromHex("c7010000"));
    for (const QByteArray &bytes : input.records) {
        const crdt::Value packed = crdt::Value::fromPacked(bytes);
        QCOMPARE(query::Matcher::matches(*input.query, packed),
            query::Matcher::matches(*input.query, packed.toCbor()));
    }
    const crdt::Value ext8 = crdt::Value::fromPacked(input.records.first());
    QVERIFY(ext8.isNullish());
    QVERIFY(!query::Matcher::matches(*input.query, ext8));
}

QTEST_GUILESS_MAIN(TestFuzzRegressions)
#include "tst_fuzz_regressions.moc"

// wingman-bench's modes end to end against a spawned server: each run ends by itself with a
// SUMMARY line holding its figures. Figures are not judged here (benchmarks measure speed), only
// that they are there and what the run checked held.

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

namespace {

constexpr int kRunTimeoutMs = 180'000;

struct BenchResult {
    int exitCode = -1;
    QJsonObject summary;
    QByteArray output;
};

BenchResult runBench(const QStringList &arguments)
{
    QProcess bench;
    bench.setProcessChannelMode(QProcess::MergedChannels);
    bench.start(QStringLiteral(WINGMAN_BENCH_BINARY), arguments);
    BenchResult result;
    if (!bench.waitForFinished(kRunTimeoutMs)) {
        bench.kill();
        bench.waitForFinished();
    }
    result.output = bench.readAll();
    if (bench.exitStatus() == QProcess::NormalExit)
        result.exitCode = bench.exitCode();
    for (const QByteArray &line : result.output.split('\n')) {
        if (line.startsWith("SUMMARY "))
            result.summary = QJsonDocument::fromJson(line.mid(8)).object();
    }
    return result;
}

} // namespace

class tst_WingmanBench : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Records not a multiple of connections × batch: the last batches are smaller.
    void restartReadsBackEveryRecord()
    {
        const BenchResult result = runBench({ QStringLiteral("--mode"), QStringLiteral("restart"),
            QStringLiteral("--spawn"), QStringLiteral(WINGMAN_SERVER_BINARY),
            QStringLiteral("--records"), QStringLiteral("2503"), QStringLiteral("--runs"),
            QStringLiteral("2"), QStringLiteral("--connections"), QStringLiteral("3"),
            QStringLiteral("--batch"), QStringLiteral("100") });
        QVERIFY2(result.exitCode == 0, result.output.constData());
        const QJsonObject &summary = result.summary;
        QCOMPARE(summary.value(QStringLiteral("ok")).toBool(), true);
        QCOMPARE(summary.value(QStringLiteral("records")).toInt(), 2503);
        QCOMPARE(summary.value(QStringLiteral("restartMs")).toArray().size(), 2);
        QCOMPARE(summary.value(QStringLiteral("rssAfterLoadKibRuns")).toArray().size(), 2);
        // Present only when the server's storage line was read, which is what checks the count.
        QVERIFY(summary.value(QStringLiteral("storageOpenMsMedian")).isDouble());
        QVERIFY(summary.value(QStringLiteral("integrityCheckMsMedian")).isDouble());
        QVERIFY(summary.value(QStringLiteral("restartMsMin")).toDouble()
            <= summary.value(QStringLiteral("restartMsMedian")).toDouble());
        QVERIFY(summary.value(QStringLiteral("restartMsMedian")).toDouble()
            <= summary.value(QStringLiteral("restartMsMax")).toDouble());
        QVERIFY(summary.value(QStringLiteral("dbBytes")).toDouble() > 0);
    }

    void restartNeedsASpawnedServer()
    {
        const BenchResult result
            = runBench({ QStringLiteral("--mode"), QStringLiteral("restart") });
        QCOMPARE(result.exitCode, 1);
        QVERIFY(result.output.contains("--mode restart needs --spawn"));
    }

    void writesReportServerCpuPerOp_data()
    {
        QTest::addColumn<QStringList>("target");
        QTest::newRow("spawned") << QStringList { QStringLiteral("--spawn"),
            QStringLiteral(WINGMAN_SERVER_BINARY) };
        QTest::newRow("baseline") << QStringList { QStringLiteral("--baseline") };
    }

    void writesReportServerCpuPerOp()
    {
        QFETCH(QStringList, target);
        const BenchResult result = runBench(target
            + QStringList { QStringLiteral("--duration"), QStringLiteral("1"),
                QStringLiteral("--connections"), QStringLiteral("2"),
                QStringLiteral("--subscribers"), QStringLiteral("1"), QStringLiteral("--batch"),
                QStringLiteral("10") });
        QVERIFY2(result.exitCode == 0, result.output.constData());
        const QJsonObject &summary = result.summary;
        QVERIFY(summary.value(QStringLiteral("ackedOps")).toDouble() > 0);
        QVERIFY(summary.value(QStringLiteral("serverCpuUsPerOp")).isDouble());
        QVERIFY(summary.value(QStringLiteral("serverCpuUsPerOp")).toDouble() >= 0);
    }
};

QTEST_GUILESS_MAIN(tst_WingmanBench)
#include "tst_wingman_bench.moc"

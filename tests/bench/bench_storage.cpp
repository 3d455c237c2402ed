// Durable storage through the Storage API: acknowledged ops/s with C writers each keeping one
// batch in flight (the next batch goes out when the previous one's done callback runs, as a
// client's ack would arrive), and restart time for a large database (open + loadAll +
// MapRegistry::load, what a node does before ready()). Acked ops/s are measured with both
// durabilities (full: a flush per group commit; relaxed: none). SQLite always; PostgreSQL too when
// WINGMAN_TEST_POSTGRES_URL names a server (scripts/with-postgres.sh sets it). Prints a table;
// not a test.
//
// Options: --connections C (10), --batch B (100), --duration S (5), --records N (1000000),
// --dir DIR (keep the SQLite files there; a restart database already holding N records is
// reused instead of filled again).

#include "maps/MapRegistry.h"
#include "protocol/Wire.h"
#include "storage/PostgresStorage.h"
#include "storage/SqliteStorage.h"
#include "storage/StorageUrl.h"

#include <QCborMap>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <unistd.h>
#include <vector>

using namespace wingman;
using storage::Storage;
using storage::StorageWrite;

namespace {

struct Options {
    QString dir;
    int connections = 10;
    int batch = 100;
    int durationSecs = 5;
    int records = 1'000'000;
};

struct Row {
    QString what;
    QString value;
    QString note;
};

std::vector<Row> g_rows;

void addRow(const QString &what, const QString &value, const QString &note = {})
{
    g_rows.push_back({ what, value, note });
    std::printf("  %s: %s %s\n", qPrintable(what), qPrintable(value), qPrintable(note));
    std::fflush(stdout);
}

long residentMib()
{
    std::ifstream statm("/proc/self/statm");
    long size = 0;
    long resident = 0;
    statm >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

// CPU seconds the storage writer thread has used so far (0 when it is not running).
double writerCpuSeconds()
{
    QDir tasks(QStringLiteral("/proc/self/task"));
    const QStringList ids = tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &id : ids) {
        QFile comm(tasks.filePath(id + QStringLiteral("/comm")));
        if (!comm.open(QIODevice::ReadOnly) || comm.readAll().trimmed() != "wingman-storage")
            continue;
        QFile stat(tasks.filePath(id + QStringLiteral("/stat")));
        if (!stat.open(QIODevice::ReadOnly))
            return 0;
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        const QByteArray text = stat.readAll();
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        const double ticks = fields.value(11).toDouble() + fields.value(12).toDouble();
        return ticks / double(sysconf(_SC_CLK_TCK));
    }
    return 0;
}

StorageWrite put(const QString &map, const QString &key, qint64 millis, int n)
{
    StorageWrite write;
    write.kind = StorageWrite::Kind::LwwPut;
    write.mapName = map;
    write.key = key;
    // Packed, as values arrive from a client's frame.
    write.lww.value = crdt::Value::fromPacked(wire::MsgPackCodec::encode(
        QCborMap { { QStringLiteral("name"), QStringLiteral("user-%1").arg(n) },
            { QStringLiteral("age"), n % 90 }, { QStringLiteral("active"), (n & 1) == 0 } }));
    write.lww.timestamp = { millis, n & 0xffff, QStringLiteral("bench-node") };
    return write;
}

// Runs the event loop until condition holds (it changes only in event handlers here).
bool waitUntil(const std::function<bool()> &condition, int timeoutMs)
{
    bool timedOut = false;
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, [&] { timedOut = true; });
    timeout.start(timeoutMs);
    while (!condition() && !timedOut)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    return !timedOut;
}

// Opens and waits; the error, or empty.
QString openAndWait(Storage &storage)
{
    QString error;
    bool done = false;
    QObject::connect(&storage, &Storage::opened, [&] { done = true; });
    QObject::connect(&storage, &Storage::failed, [&](const QString &reason) {
        error = reason;
        done = true;
    });
    storage.open();
    if (!waitUntil([&] { return done; }, 600'000))
        return QStringLiteral("timeout");
    return error;
}

using Factory = std::function<std::unique_ptr<Storage>()>;

const std::pair<QString, storage::Durability> kDurabilities[] = {
    { QStringLiteral("full"), storage::Durability::Full },
    { QStringLiteral("relaxed"), storage::Durability::Relaxed },
};

// C writers, each with one batch of B puts in flight, for the duration after 1 s of warm-up.
void ackedOpsPerSecond(const QString &label, const Factory &factory, const Options &options)
{
    auto storage = factory();
    if (const QString error = openAndWait(*storage); !error.isEmpty()) {
        addRow(label + QStringLiteral(" acked ops/s"), QStringLiteral("failed"), error);
        return;
    }
    const qint64 base = QDateTime::currentMSecsSinceEpoch();
    QElapsedTimer clock;
    clock.start();
    const qint64 warmupEndNs = 1'000'000'000LL;
    double writerCpuAtStart = -1;
    double writerCpuAtEnd = 0;
    const qint64 endNs = warmupEndNs + qint64(options.durationSecs) * 1'000'000'000LL;
    qint64 measuredOps = 0;
    qint64 measuredStartNs = -1;
    qint64 measuredEndNs = 0;
    std::vector<qint64> latenciesUs;
    int running = options.connections;
    QString failure;

    std::vector<int> sequence(size_t(options.connections), 0);
    std::function<void(int)> submit = [&](int writer) {
        QList<StorageWrite> writes;
        writes.reserve(options.batch);
        for (int i = 0; i < options.batch; ++i) {
            const int n = sequence[size_t(writer)]++;
            writes.append(put(
                QStringLiteral("bench"), QStringLiteral("w%1-%2").arg(writer).arg(n), base + n, n));
        }
        const qint64 sentNs = clock.nsecsElapsed();
        storage->write(std::move(writes), [&, writer, sentNs](const QString &error) {
            const qint64 nowNs = clock.nsecsElapsed();
            if (!error.isEmpty() && failure.isEmpty())
                failure = error;
            if (nowNs >= warmupEndNs && nowNs < endNs) {
                if (measuredStartNs < 0) {
                    measuredStartNs = nowNs;
                    writerCpuAtStart = writerCpuSeconds();
                }
                measuredOps += options.batch;
                measuredEndNs = nowNs;
                latenciesUs.push_back((nowNs - sentNs) / 1000);
            }
            if (nowNs < endNs && failure.isEmpty())
                submit(writer);
            else
                --running;
        });
    };
    for (int writer = 0; writer < options.connections; ++writer)
        submit(writer);
    waitUntil([&] { return running == 0; }, (options.durationSecs + 60) * 1000);
    writerCpuAtEnd = writerCpuSeconds();
    storage->close();

    if (!failure.isEmpty() || measuredStartNs < 0 || measuredEndNs <= measuredStartNs) {
        addRow(label + QStringLiteral(" acked ops/s"), QStringLiteral("failed"),
            failure.isEmpty() ? QStringLiteral("no acks in the window") : failure);
        return;
    }
    std::sort(latenciesUs.begin(), latenciesUs.end());
    const auto percentile = [&](double p) {
        return double(latenciesUs[size_t(p * double(latenciesUs.size() - 1))]) / 1000.0;
    };
    const double seconds = double(measuredEndNs - measuredStartNs) / 1e9;
    addRow(label + QStringLiteral(" acked ops/s"),
        QString::number(double(measuredOps) / seconds, 'f', 0),
        QStringLiteral("C=%1 B=%2, %3 s; batch ack p50 %4 ms, p99 %5 ms; writer thread "
                       "%6 us CPU/op")
            .arg(options.connections)
            .arg(options.batch)
            .arg(seconds, 0, 'f', 1)
            .arg(percentile(0.5), 0, 'f', 1)
            .arg(percentile(0.99), 0, 'f', 1)
            .arg((writerCpuAtEnd - writerCpuAtStart) * 1e6 / double(measuredOps), 0, 'f', 2));
}

// Fills storage with records LWW records in groups of 10,000, then measures a restart.
void restart(const QString &label, const Factory &factory, const Options &options,
    const std::function<QString()> &sizeNote, bool fill)
{
    if (fill) {
        auto storage = factory();
        if (const QString error = openAndWait(*storage); !error.isEmpty()) {
            addRow(label + QStringLiteral(" restart"), QStringLiteral("failed"), error);
            return;
        }
        QElapsedTimer fill;
        fill.start();
        const qint64 base = QDateTime::currentMSecsSinceEpoch() - options.records;
        constexpr int kGroup = 10'000;
        int pending = 0;
        QString failure;
        for (int start = 0; start < options.records; start += kGroup) {
            QList<StorageWrite> writes;
            for (int n = start; n < std::min(start + kGroup, options.records); ++n)
                writes.append(put(QStringLiteral("m%1").arg(n % 4), QStringLiteral("key-%1").arg(n),
                    base + n, n));
            ++pending;
            storage->write(std::move(writes), [&](const QString &error) {
                --pending;
                if (!error.isEmpty())
                    failure = error;
            });
            // Bounded, so the fill does not hold every record in memory at once.
            waitUntil([&] { return pending < 4; }, 600'000);
        }
        waitUntil([&] { return pending == 0; }, 600'000);
        storage->close();
        if (!failure.isEmpty()) {
            addRow(label + QStringLiteral(" restart"), QStringLiteral("failed"), failure);
            return;
        }
        std::printf("  (%s: wrote %d records in %.1f s)\n", qPrintable(label), options.records,
            double(fill.elapsed()) / 1000.0);
    }

    const long rssBefore = residentMib();
    QElapsedTimer timer;
    timer.start();
    auto storage = factory();
    if (const QString error = openAndWait(*storage); !error.isEmpty()) {
        addRow(label + QStringLiteral(" restart"), QStringLiteral("failed"), error);
        return;
    }
    const qint64 openedMs = timer.elapsed();
    QHash<QString, storage::StoredMap> stored = storage->loadAll();
    maps::MapRegistry maps(QStringLiteral("bench-node"));
    maps.load(stored);
    stored.clear();
    const qint64 readyMs = timer.elapsed();
    qsizetype loaded = 0;
    for (const QString &name : maps.mapNames())
        loaded += maps.findLww(name) ? maps.findLww(name)->size() : 0;
    storage->close();
    addRow(label + QStringLiteral(" restart"), QStringLiteral("%1 ms").arg(readyMs),
        QStringLiteral("%1 records: open+load %2 ms, MapRegistry::load %3 ms; %4; +%5 MiB RSS")
            .arg(loaded)
            .arg(openedMs)
            .arg(readyMs - openedMs)
            .arg(sizeNote())
            .arg(residentMib() - rssBefore));
}

// A fresh database on the server of url for one run; empty (and *error) when that fails.
QString createPostgresDatabase(const storage::StorageUrl &url, const QString &name, QString *error)
{
    const QString connection = QStringLiteral("bench.admin");
    bool ok = false;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connection);
        db.setHostName(url.host);
        db.setPort(url.port);
        db.setUserName(url.user);
        db.setPassword(url.password);
        db.setDatabaseName(url.database);
        if (db.open()) {
            QSqlQuery query(db);
            query.exec(QStringLiteral("SET client_min_messages TO WARNING"));
            query.exec(QStringLiteral("DROP DATABASE IF EXISTS %1").arg(name));
            ok = query.exec(QStringLiteral("CREATE DATABASE %1").arg(name));
            if (!ok)
                *error = query.lastError().text();
        } else {
            *error = db.lastError().text();
        }
    }
    QSqlDatabase::removeDatabase(connection);
    return ok ? name : QString();
}

void dropPostgresDatabase(const storage::StorageUrl &url, const QString &name)
{
    const QString connection = QStringLiteral("bench.admin");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), connection);
        db.setHostName(url.host);
        db.setPort(url.port);
        db.setUserName(url.user);
        db.setPassword(url.password);
        db.setDatabaseName(url.database);
        if (db.open())
            QSqlQuery(db).exec(QStringLiteral("DROP DATABASE IF EXISTS %1").arg(name));
    }
    QSqlDatabase::removeDatabase(connection);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    const QCommandLineOption connections(QStringLiteral("connections"), QStringLiteral("Writers."),
        QStringLiteral("C"), QStringLiteral("10"));
    const QCommandLineOption batch(QStringLiteral("batch"), QStringLiteral("Puts per write()."),
        QStringLiteral("B"), QStringLiteral("100"));
    const QCommandLineOption duration(QStringLiteral("duration"), QStringLiteral("Seconds."),
        QStringLiteral("S"), QStringLiteral("5"));
    const QCommandLineOption records(QStringLiteral("records"),
        QStringLiteral("Records for the restart."), QStringLiteral("N"), QStringLiteral("1000000"));
    const QCommandLineOption keepDir(QStringLiteral("dir"),
        QStringLiteral("Keep the SQLite files in this directory."), QStringLiteral("DIR"));
    parser.addOptions({ connections, batch, duration, records, keepDir });
    parser.addHelpOption();
    parser.process(app);
    Options options;
    options.connections = std::max(1, parser.value(connections).toInt());
    options.batch = std::max(1, parser.value(batch).toInt());
    options.durationSecs = std::max(1, parser.value(duration).toInt());
    options.records = std::max(1, parser.value(records).toInt());

    QTemporaryDir temporary;
    options.dir = parser.isSet(keepDir) ? parser.value(keepDir) : temporary.path();
    if (!parser.isSet(keepDir) && !temporary.isValid()) {
        std::fprintf(stderr, "bench_storage: no temporary directory\n");
        return 1;
    }
    const QDir dir(options.dir);

    std::printf("SQLite (%s)\n", qPrintable(options.dir));
    const QString ackPath = dir.filePath(QStringLiteral("acks.db"));
    for (const auto &[name, durability] : kDurabilities) {
        QFile::remove(ackPath);
        QFile::remove(ackPath + QStringLiteral("-wal"));
        QFile::remove(ackPath + QStringLiteral("-shm"));
        ackedOpsPerSecond(
            QStringLiteral("SQLite %1").arg(name),
            [&] { return std::make_unique<storage::SqliteStorage>(ackPath, durability); }, options);
    }
    const QString restartPath = dir.filePath(QStringLiteral("restart-%1.db").arg(options.records));
    const bool filled = parser.isSet(keepDir) && QFileInfo::exists(restartPath);
    restart(
        QStringLiteral("SQLite"),
        [&] { return std::make_unique<storage::SqliteStorage>(restartPath); }, options,
        [&] {
            return QStringLiteral("file %1 MiB").arg(QFileInfo(restartPath).size() / (1024 * 1024));
        },
        !filled);

    const QString postgres = qEnvironmentVariable("WINGMAN_TEST_POSTGRES_URL");
    std::optional<storage::StorageUrl> url;
    if (!postgres.isEmpty())
        url = storage::StorageUrl::parse(postgres);
    if (url) {
        std::printf("PostgreSQL (%s)\n", qPrintable(url->postgresLocation()));
        // A fresh database per run, so each measures inserts.
        const auto withDatabase = [&](const QString &name, const auto &run) {
            QString error;
            if (createPostgresDatabase(*url, name, &error).isEmpty()) {
                addRow(QStringLiteral("PostgreSQL"), QStringLiteral("failed"), error);
                return;
            }
            storage::StorageUrl target = *url;
            target.database = name;
            run(target);
            dropPostgresDatabase(*url, name);
        };
        for (const auto &[mode, durability] : kDurabilities) {
            withDatabase(QStringLiteral("wingman_bench_acks_%1").arg(mode),
                [&, mode = mode, durability = durability](const storage::StorageUrl &target) {
                    ackedOpsPerSecond(
                        QStringLiteral("PostgreSQL %1").arg(mode),
                        [target, durability] {
                            return std::make_unique<storage::PostgresStorage>(target, durability);
                        },
                        options);
                });
        }
        withDatabase(
            QStringLiteral("wingman_bench_restart"), [&](const storage::StorageUrl &target) {
                restart(
                    QStringLiteral("PostgreSQL"),
                    [target] { return std::make_unique<storage::PostgresStorage>(target); },
                    options, [] { return QString(); }, true);
            });
    } else {
        std::printf("PostgreSQL: skipped (WINGMAN_TEST_POSTGRES_URL is not set; run through "
                    "scripts/with-postgres.sh)\n");
    }

    std::printf("\n| %-30s | %12s | %-90s |\n", "storage benchmark", "result", "notes");
    std::printf("|%s|%s|%s|\n", QByteArray(32, '-').constData(), QByteArray(14, '-').constData(),
        QByteArray(92, '-').constData());
    bool failed = false;
    for (const Row &row : g_rows) {
        std::printf("| %-30s | %12s | %-90s |\n", qPrintable(row.what), qPrintable(row.value),
            qPrintable(row.note));
        failed = failed || row.value == QLatin1String("failed");
    }
    std::printf("(%ld cores, load average %s)\n", sysconf(_SC_NPROCESSORS_ONLN),
        qPrintable(QString::fromLatin1([] {
            std::ifstream file("/proc/loadavg");
            std::string first;
            file >> first;
            return QByteArray::fromStdString(first);
        }())));
    return failed ? 1 : 0;
}

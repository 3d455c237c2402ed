// CRDT core throughput and memory: LWW merge and set, Merkle update, OR add, and the memory an
// LWW map spends per record beyond its keys and values. Prints a table; not a test.

#include "crdt/Hash.h"
#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"
#include "crdt/MerkleTree.h"
#include "crdt/OrMap.h"

#include <QCborMap>
#include <QCborValue>
#include <QHash>
#include <QList>
#include <QString>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <malloc.h>
#include <random>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

using namespace wingman::crdt;

namespace {

constexpr int kRecords = 1'000'000;

long residentBytes()
{
    std::ifstream statm("/proc/self/statm");
    long size = 0;
    long resident = 0;
    statm >> size >> resident;
    return resident * sysconf(_SC_PAGESIZE);
}

// CPU time of this thread: the machine is shared, and waiting for a core is not our cost.
class Stopwatch
{
public:
    Stopwatch()
        : m_start(now())
    { }
    double seconds() const { return now() - m_start; }

private:
    static double now()
    {
        timespec ts {};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
    }

    double m_start;
};

void printRow(const char *what, double value, const char *unit, const QString &note = {})
{
    std::printf("| %-34s | %14.0f %-10s | %-44s |\n", what, value, unit, qPrintable(note));
}

// Keys in random order, each string allocated in that order: like keys arriving in messages,
// they are read from warm memory while the map's own lookups go anywhere.
QStringList shuffledKeys(int count, unsigned seed)
{
    std::vector<int> numbers(count);
    for (int i = 0; i < count; ++i)
        numbers[i] = i;
    std::shuffle(numbers.begin(), numbers.end(), std::mt19937(seed));
    QStringList keys;
    keys.reserve(count);
    for (const int number : numbers)
        keys.append(QStringLiteral("user:") + QString::number(number));
    return keys;
}

const QStringList &nodeIds()
{
    static const QStringList ids { "client-0", "client-1", "client-2", "client-3", "client-4",
        "client-5", "client-6", "client-7" };
    return ids;
}

// Each memory figure is taken in a child process of its own, so that no memory freed by an
// earlier run can hide allocations. Two figures: resident set growth, what the operator sees,
// and bytes in use by malloc, which leaves out the allocator's unused holes.
template <typename Function> void inFreshProcess(Function &&function)
{
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        function();
        std::fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
}

// How records reach the map: merged one by one as writes arrive, or loaded at once at restart.
enum class Fill { Merge, Load };

void memoryPerRecord(Fill fill)
{
    const long start = residentBytes();
    QStringList keys = shuffledKeys(kRecords, 1);
    qint64 wall = Hlc::systemMillis();
    QList<LwwRecord> records;
    records.reserve(kRecords);
    for (int i = 0; i < kRecords; ++i) {
        const Timestamp ts { wall - 1000 + i / 1000, i % 7, nodeIds()[i % nodeIds().size()] };
        records.append(
            LwwRecord { QCborValue(QStringLiteral("v") + QString::number(i)), ts, std::nullopt });
    }
    QHash<QString, LwwRecord> loaded;
    if (fill == Fill::Load) {
        loaded.reserve(kRecords);
        for (int i = 0; i < kRecords; ++i)
            loaded.insert(keys[i], records[i]);
    }
    const long withPayload = residentBytes();
    const size_t inUse = mallinfo2().uordblks;

    Hlc hlc(QStringLiteral("server"), [&wall] { return wall; });
    LwwMap map(hlc);
    // The map shares the key and value buffers, so its growth is its own overhead.
    if (fill == Fill::Load) {
        map.load(loaded.cbegin(), loaded.cend());
    } else {
        for (int i = 0; i < kRecords; ++i)
            map.merge(keys[i], records[i]);
    }
    const double overhead = double(residentBytes() - withPayload) / kRecords;
    const double used = double(mallinfo2().uordblks - inUse) / kRecords;
    const double payload = double(withPayload - start) / kRecords;
    printRow(fill == Fill::Load ? "LWW memory per record, loaded (1M)"
                                : "LWW memory per record, merged (1M)",
        overhead, "bytes",
        QStringLiteral("%1 B in use; keys+values %2 B/record")
            .arg(used, 0, 'f', 0)
            .arg(payload, 0, 'f', 0));
    if (map.size() != kRecords)
        std::printf("unexpected map size %lld\n", qlonglong(map.size()));
}

// Merges of new keys, then of newer records for every key, then of stale ones, each pass
// totalling kRecords operations over a map of mapSize keys.
void lwwMerge(int mapSize)
{
    const QStringList keys = shuffledKeys(mapSize, 2);
    const int rounds = kRecords / mapSize;
    const qint64 now = Hlc::systemMillis();
    auto recordFor = [&](int i, int round) {
        const QString &node = nodeIds()[i % nodeIds().size()];
        return LwwRecord { QCborValue(i), Timestamp { now - 50000 + round, i % 5, node },
            std::nullopt };
    };
    std::vector<LwwRecord> records;
    records.reserve(mapSize);
    for (int i = 0; i < mapSize; ++i)
        records.push_back(recordFor(i, 0));

    Hlc hlc(QStringLiteral("server"));
    LwwMap map(hlc);
    Stopwatch insertTime;
    for (int i = 0; i < mapSize; ++i)
        map.merge(keys[i], records[i]);
    const double inserts = mapSize / insertTime.seconds();

    double updateSeconds = 0;
    int accepted = 0;
    for (int round = 1; round <= rounds; ++round) {
        for (int i = 0; i < mapSize; ++i)
            records[i].timestamp.millis = now - 50000 + round;
        Stopwatch updateTime;
        for (int i = mapSize - 1; i >= 0; --i)
            accepted += map.merge(keys[i], records[i]);
        updateSeconds += updateTime.seconds();
    }
    const double updates = double(rounds) * mapSize / updateSeconds;

    for (int i = 0; i < mapSize; ++i)
        records[i].timestamp.millis = now - 50000;
    Stopwatch rejectTime;
    for (int round = 0; round < rounds; ++round) {
        for (int i = 0; i < mapSize; ++i)
            accepted -= map.merge(keys[i], records[i]);
    }
    const double rejects = double(rounds) * mapSize / rejectTime.seconds();

    const QString size = mapSize >= 1000000 ? QStringLiteral("%1M").arg(mapSize / 1000000)
                                            : QStringLiteral("%1k").arg(mapSize / 1000);
    printRow(qPrintable(QStringLiteral("LWW merge, new key (%1 map)").arg(size)), inserts, "ops/s",
        QStringLiteral("%1 keys into an empty map").arg(size));
    printRow(qPrintable(QStringLiteral("LWW merge, newer (%1 map)").arg(size)), updates, "ops/s",
        QStringLiteral("1M merges replacing a record"));
    printRow(qPrintable(QStringLiteral("LWW merge, stale (%1 map)").arg(size)), rejects, "ops/s",
        QStringLiteral("1M merges rejected (local newer)"));
    if (accepted != rounds * mapSize)
        std::printf("unexpected accept count %d\n", accepted);
}

void lwwSet()
{
    const QStringList keys = shuffledKeys(kRecords, 3);
    const QCborValue value(QStringLiteral("value"));
    Hlc hlc(QStringLiteral("server"));
    LwwMap map(hlc);
    Stopwatch time;
    for (int i = 0; i < kRecords; ++i)
        map.set(keys[i], value);
    printRow("LWW set", kRecords / time.seconds(), "ops/s",
        QStringLiteral("1M new keys, hlc.now() each"));
}

void merkleUpdate(int treeSize)
{
    const QStringList keys = shuffledKeys(treeSize, 4);
    const int rounds = kRecords / treeSize;
    std::vector<quint32> keyHashes;
    keyHashes.reserve(treeSize);
    for (const QString &key : keys)
        keyHashes.push_back(hash(key));

    MerkleTree tree;
    Stopwatch insertTime;
    for (int i = 0; i < treeSize; ++i)
        tree.update(keys[i], keyHashes[i], quint32(i) * 2654435761u);
    const double inserts = treeSize / insertTime.seconds();

    Stopwatch updateTime;
    for (int round = 1; round <= rounds; ++round) {
        for (int i = 0; i < treeSize; ++i)
            tree.update(keys[i], keyHashes[i], quint32(i + round) * 40503u);
    }
    const double updates = double(rounds) * treeSize / updateTime.seconds();

    const QString size = treeSize >= 1000000 ? QStringLiteral("%1M").arg(treeSize / 1000000)
                                             : QStringLiteral("%1k").arg(treeSize / 1000);
    printRow(qPrintable(QStringLiteral("Merkle update, new key (%1)").arg(size)), inserts, "ops/s",
        QStringLiteral("key hash given"));
    printRow(qPrintable(QStringLiteral("Merkle update, existing (%1)").arg(size)), updates, "ops/s",
        QStringLiteral("1M updates, key hash given"));
    if (tree.size() != treeSize)
        std::printf("unexpected tree size %lld\n", qlonglong(tree.size()));
}

void orAdd()
{
    constexpr int kKeys = 100'000;
    constexpr int kAdds = 200'000;
    const QStringList keys = shuffledKeys(kKeys, 5);
    QCborMap object;
    object.insert(QStringLiteral("name"), QStringLiteral("Alice"));
    object.insert(QStringLiteral("age"), 42);
    const QCborValue value(object);

    Hlc hlc(QStringLiteral("server"));
    OrMap map(hlc);
    Stopwatch time;
    for (int i = 0; i < kAdds; ++i)
        map.add(keys[i % kKeys], value);
    printRow("OR add", kAdds / time.seconds(), "ops/s",
        QStringLiteral("200k adds over 100k keys, map values"));
}

} // namespace

int main()
{
    std::printf("| %-34s | %25s | %-44s |\n", "benchmark", "result", "notes");
    std::printf("|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(27, '-').c_str(),
        std::string(46, '-').c_str());
    inFreshProcess([] { memoryPerRecord(Fill::Merge); });
    inFreshProcess([] { memoryPerRecord(Fill::Load); });
    lwwMerge(kRecords);
    lwwMerge(10'000);
    lwwSet();
    merkleUpdate(kRecords);
    merkleUpdate(10'000);
    orAdd();
    std::printf("Rates are per second of this thread's CPU time; memory is resident set growth, "
                "each in a fresh process.\n");
    return 0;
}

// CRDT core throughput and memory: LWW merge and set, Merkle update, OR add, and the memory an
// LWW map spends per record beyond its keys and values. Prints a table; not a test.

#include "crdt/Hash.h"
#include "crdt/Hlc.h"
#include "crdt/LwwMap.h"
#include "crdt/MerkleTree.h"
#include "crdt/OrMap.h"

#include <QCborMap>
#include <QCborValue>
#include <QList>
#include <QString>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
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
    Stopwatch() : m_start(now()) { }
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

QStringList shuffledKeys(int count, unsigned seed)
{
    QStringList keys;
    keys.reserve(count);
    for (int i = 0; i < count; ++i)
        keys.append(QStringLiteral("user:") + QString::number(i));
    std::shuffle(keys.begin(), keys.end(), std::mt19937(seed));
    return keys;
}

const QStringList &nodeIds()
{
    static const QStringList ids { "client-0", "client-1", "client-2", "client-3",
                                   "client-4", "client-5", "client-6", "client-7" };
    return ids;
}

// Runs first, on a fresh heap, so freed memory of other runs cannot hide allocations.
void memoryPerRecord()
{
    const long start = residentBytes();
    QStringList keys = shuffledKeys(kRecords, 1);
    QList<QCborValue> values;
    values.reserve(kRecords);
    for (int i = 0; i < kRecords; ++i)
        values.append(QCborValue(QStringLiteral("v") + QString::number(i)));
    const long withPayload = residentBytes();

    qint64 wall = Hlc::systemMillis();
    Hlc hlc(QStringLiteral("server"), [&wall] { return wall; });
    LwwMap map(hlc);
    for (int i = 0; i < kRecords; ++i) {
        // The map shares the key and value buffers, so its growth is its own overhead.
        const Timestamp ts { wall - 1000 + i / 1000, i % 7, nodeIds()[i % nodeIds().size()] };
        map.merge(keys[i], LwwRecord { values[i], ts, std::nullopt });
    }
    const long withMap = residentBytes();

    const double payload = double(withPayload - start) / kRecords;
    const double overhead = double(withMap - withPayload) / kRecords;
    printRow("LWW memory per record (1M)", overhead, "bytes",
             QStringLiteral("beyond payload; payload %1 B/record").arg(payload, 0, 'f', 0));
    if (map.size() != kRecords)
        std::printf("unexpected map size %lld\n", qlonglong(map.size()));
}

void lwwMerge()
{
    const QStringList keys = shuffledKeys(kRecords, 2);
    const qint64 now = Hlc::systemMillis();
    std::vector<LwwRecord> first;
    std::vector<LwwRecord> newer;
    first.reserve(kRecords);
    newer.reserve(kRecords);
    for (int i = 0; i < kRecords; ++i) {
        const QString &node = nodeIds()[i % nodeIds().size()];
        first.push_back({ QCborValue(i), Timestamp { now - 5000, i % 5, node }, std::nullopt });
        newer.push_back({ QCborValue(i + 1), Timestamp { now - 4000, i % 5, node }, std::nullopt });
    }

    Hlc hlc(QStringLiteral("server"));
    LwwMap map(hlc);
    Stopwatch insertTime;
    for (int i = 0; i < kRecords; ++i)
        map.merge(keys[i], first[i]);
    const double inserts = kRecords / insertTime.seconds();

    Stopwatch updateTime;
    int accepted = 0;
    for (int i = kRecords - 1; i >= 0; --i)
        accepted += map.merge(keys[i], newer[i]);
    const double updates = kRecords / updateTime.seconds();

    Stopwatch rejectTime;
    for (int i = 0; i < kRecords; ++i)
        accepted -= map.merge(keys[i], first[i]);
    const double rejects = kRecords / rejectTime.seconds();

    printRow("LWW merge, new keys", inserts, "ops/s", QStringLiteral("1M keys into an empty map"));
    printRow("LWW merge, newer record", updates, "ops/s", QStringLiteral("1M existing keys replaced"));
    printRow("LWW merge, stale record", rejects, "ops/s", QStringLiteral("1M rejected (local newer)"));
    if (accepted != kRecords)
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
    printRow("LWW set", kRecords / time.seconds(), "ops/s", QStringLiteral("1M new keys, hlc.now() each"));
}

void merkleUpdate()
{
    const QStringList keys = shuffledKeys(kRecords, 4);
    std::vector<quint32> keyHashes;
    keyHashes.reserve(kRecords);
    for (const QString &key : keys)
        keyHashes.push_back(hash(key));

    MerkleTree tree;
    Stopwatch insertTime;
    for (int i = 0; i < kRecords; ++i)
        tree.update(keys[i], keyHashes[i], quint32(i) * 2654435761u);
    const double inserts = kRecords / insertTime.seconds();

    Stopwatch updateTime;
    for (int i = 0; i < kRecords; ++i)
        tree.update(keys[i], quint32(i) * 40503u);
    const double updates = kRecords / updateTime.seconds();

    printRow("Merkle update, new keys", inserts, "ops/s", QStringLiteral("1M keys, key hash given"));
    printRow("Merkle update, existing keys", updates, "ops/s", QStringLiteral("1M keys, hashing the key"));
    if (tree.size() != kRecords)
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
    memoryPerRecord();
    lwwMerge();
    lwwSet();
    merkleUpdate();
    orAdd();
    return 0;
}

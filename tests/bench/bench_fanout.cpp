// Live-query fan-out cost: CPU time QueryRegistry::publish spends per change for 20 subscribers of
// one map, by query shape. Prints a table; not a test.

#include "TestSession.h"
#include "live/QueryRegistry.h"
#include "live/QueryWindow.h"
#include "protocol/Messages.h"
#include "wire/MsgPackCodec.h"

#include <QCborMap>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <memory>
#include <random>
#include <time.h>

using namespace wingman;

namespace {

constexpr int kSubscribers = 20;
constexpr int kRecords = 20'000; // in the map before the measured changes
constexpr int kChanges = 20'000;
constexpr int kBatch = 100; // changes per publish, as one OP_BATCH commits them
const QString kMap = QStringLiteral("bench");

double threadSeconds()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

live::Change put(const QString &key, qint64 n)
{
    const QCborMap value { { QStringLiteral("n"), n }, { QStringLiteral("text"), key } };
    live::Change change;
    change.event.mapName = kMap;
    change.event.key = key;
    change.event.eventType = protocol::ServerEventType::Put;
    change.value = crdt::Value::fromPacked(wire::MsgPackCodec::encode(value));
    change.event.record
        = crdt::LwwRecord { *change.value, { 1000 + n, 0, QStringLiteral("w") }, std::nullopt };
    return change;
}

struct Shape {
    const char *name;
    const char *query;
    // The measured changes: i-th key and value.
    std::function<std::pair<QString, qint64>(int i, std::mt19937 &random)> change;
};

double run(const Shape &shape)
{
    QString error;
    const auto query = query::Query::fromCbor(
        QCborMap::fromJsonObject(QJsonDocument::fromJson(shape.query).object()), &error);
    live::QueryRegistry registry;
    std::vector<std::unique_ptr<test::TestSession>> sessions;
    for (int s = 0; s < kSubscribers; ++s) {
        sessions.push_back(std::make_unique<test::TestSession>(quint64(s + 1)));
        sessions.back()->authenticate();
        registry.addMapListener(sessions.back().get(), kMap);
        if (query::Matcher::matchesEveryLiveValue(*query) && query->sort().isEmpty()
            && query->limit() == 0) {
            registry.subscribe(sessions.back().get(), QStringLiteral("q"), kMap, *query, {}, true);
        } else {
            auto window = std::make_shared<live::QueryWindow>(*query, std::nullopt);
            registry.subscribeLoading(
                sessions.back().get(), QStringLiteral("q"), kMap, *query, window);
            registry.finishLoading(
                sessions.back().get(), QStringLiteral("q"), window.get(), true, false);
        }
    }
    const auto publish = [&](QList<live::Change> &changes) {
        registry.publish(kMap, changes, nullptr, { 1, 0, QStringLiteral("s") });
        changes.clear();
        for (auto &session : sessions)
            session->clear();
    };
    QList<live::Change> changes;
    for (int i = 0; i < kRecords; ++i) {
        changes.append(put(QStringLiteral("k%1").arg(i), i));
        if (changes.size() == kBatch)
            publish(changes);
    }
    std::mt19937 random(7);
    QList<live::Change> measured;
    for (int i = 0; i < kChanges; ++i) {
        const auto [key, n] = shape.change(i, random);
        measured.append(put(key, n));
    }
    const double start = threadSeconds();
    for (int i = 0; i < kChanges; i += kBatch) {
        changes = measured.mid(i, kBatch);
        publish(changes);
    }
    return (threadSeconds() - start) / kChanges * 1e6;
}

} // namespace

int main()
{
    const auto newTop = [](int i, std::mt19937 &) {
        return std::pair { QStringLiteral("new%1").arg(i), qint64(kRecords + i) };
    };
    const auto existing = [](int, std::mt19937 &random) {
        return std::pair { QStringLiteral("k%1").arg(random() % kRecords),
            qint64(random() % (2 * kRecords)) };
    };
    const Shape shapes[] = {
        { "every record, new keys", "{}", newTop },
        { "sort desc, limit 10, new top keys", R"({"sort":{"n":"desc"},"limit":10})", newTop },
        { "sort asc, limit 10, new keys after", R"({"sort":{"n":"asc"},"limit":10})", newTop },
        { "every record, random updates", "{}", existing },
        { "sort asc, limit 10, random updates", R"({"sort":{"n":"asc"},"limit":10})", existing },
        { "where n>=0, limit 10, random updates", R"({"where":{"n":{"$gte":0}},"limit":10})",
            existing },
    };
    std::printf("%d subscribers, %d records, %d changes in batches of %d (thread CPU time)\n",
        kSubscribers, kRecords, kChanges, kBatch);
    std::printf(
        "| %-40s | %14s | %16s |\n", "query, changes", "us per change", "us per sub+change");
    for (const Shape &shape : shapes) {
        const double perChange = run(shape);
        std::printf(
            "| %-40s | %14.2f | %16.3f |\n", shape.name, perChange, perChange / kSubscribers);
    }
    return 0;
}

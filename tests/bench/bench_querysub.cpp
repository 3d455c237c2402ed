// How long a QUERY_SUB's first evaluation holds the event loop: over a map of 100k records, the
// longest turn and the whole evaluation, per query shape. Prints a table; not a test.

#include "TestSession.h"
#include "live/QueryHandler.h"
#include "live/QueryRegistry.h"
#include "maps/MapRegistry.h"
#include "protocol/Messages.h"
#include "wire/MsgPackCodec.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>
#include <time.h>

using namespace wingman;

namespace {

constexpr int kRecords = 100'000;
const QString kMap = QStringLiteral("bench");

double threadMs()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    maps::MapRegistry maps(QStringLiteral("server-1"));
    live::QueryRegistry registry;
    live::QueryHandler handler(maps, registry);
    crdt::LwwMap *map = maps.lwwMap(kMap);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < kRecords; ++i) {
        const QCborMap value { { QStringLiteral("n"), i % 1000 },
            { QStringLiteral("text"), QStringLiteral("record %1").arg(i) } };
        map->merge(QStringLiteral("k%1").arg(i),
            { crdt::Value::fromPacked(wire::MsgPackCodec::encode(value)),
                { now, 0, QStringLiteral("w") }, std::nullopt });
    }

    const char *queries[]
        = { "{}", R"({"where":{"n":{"$lt":500}}})", R"({"sort":{"n":"desc"},"limit":10})" };
    std::printf("QUERY_SUB over %d records, %lld keys per turn (thread CPU time)\n", kRecords,
        qlonglong(live::QueryHandler::kKeysPerTurn));
    std::printf("| %-36s | %6s | %16s | %16s |\n", "query", "turns", "longest turn ms",
        "whole evaluation ms");
    int id = 0;
    for (const char *text : queries) {
        test::TestSession session(quint64(++id));
        session.authenticate();
        protocol::QuerySubMessage sub;
        sub.queryId = QStringLiteral("q");
        sub.mapName = kMap;
        sub.query = QCborMap::fromJsonObject(QJsonDocument::fromJson(text).object());
        int turns = 1;
        double start = threadMs();
        handler.handle(session, sub);
        double longest = threadMs() - start;
        double total = longest;
        while (session.typed<protocol::QueryRespMessage>().isEmpty()) {
            start = threadMs();
            QCoreApplication::processEvents();
            const double turn = threadMs() - start;
            longest = std::max(longest, turn);
            total += turn;
            ++turns;
        }
        std::printf("| %-36s | %6d | %16.1f | %16.1f |\n", text, turns, longest, total);
        registry.removeConnection(&session);
    }
    return 0;
}

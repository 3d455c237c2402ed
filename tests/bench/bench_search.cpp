// Full-text search: indexing 100,000 records into the FTS5 index, queries per second on the
// index and over a socket, and how long a write takes to reach a SEARCH_SUB subscriber as
// SEARCH_UPDATE. Prints a table; not a test.

#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "auth/SecurityPolicy.h"
#include "maps/MapRegistry.h"
#include "protocol/Messages.h"
#include "search/SearchIndex.h"
#include "search/SearchService.h"

#include <QCborArray>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <random>
#include <time.h>
#include <vector>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

constexpr int kRecords = 100'000;
constexpr int kVocabulary = 20'000;
constexpr int kLatencySamples = 200;

void printRow(const char *what, double value, const char *unit, const QString &note = {})
{
    std::printf("| %-36s | %12.1f %-8s | %-44s |\n", what, value, unit, qPrintable(note));
    std::fflush(stdout);
}

// Pseudo-words with a Zipf-like frequency: a few common, most rare, as in real text.
class Corpus
{
public:
    Corpus()
        : m_random(7)
    {
        std::uniform_int_distribution<int> length(3, 9);
        std::uniform_int_distribution<int> letter(0, 25);
        for (int i = 0; i < kVocabulary; ++i) {
            QString word;
            const int n = length(m_random);
            for (int c = 0; c < n; ++c)
                word += QChar(u'a' + letter(m_random));
            m_words << word;
        }
    }
    const QString &word(int rank) const { return m_words[rank]; }
    QString text(int words)
    {
        QStringList out;
        for (int i = 0; i < words; ++i)
            out << m_words[zipf()];
        return out.join(u' ');
    }
    QCborMap record() { return { { u"title"_s, text(5) }, { u"body"_s, text(30) } }; }

private:
    int zipf()
    {
        // Rank r with probability ~ 1/r: exp of a uniform over ln(1)..ln(N).
        std::uniform_real_distribution<double> u(0, std::log(double(kVocabulary)));
        return std::min(kVocabulary - 1, int(std::exp(u(m_random))) - 1);
    }

    std::mt19937 m_random;
    QStringList m_words;
};

// CPU time of this thread: the machine is shared, and waiting for a core is not our cost.
double cpuSeconds()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Runs work for about `seconds` of this thread's CPU time; runs per CPU second.
template <typename Work> double perSecond(double seconds, Work &&work)
{
    const double start = cpuSeconds();
    qint64 count = 0;
    while (cpuSeconds() - start < seconds) {
        work();
        ++count;
    }
    return double(count) / (cpuSeconds() - start);
}

// The next message of this type, waited for on the event loop (RawClient::take polls).
std::optional<QCborMap> await(RawClient &client, const QString &type, int timeoutMs = 60000)
{
    if (client.has(type))
        return client.take(type, 0);
    QEventLoop loop;
    QObject::connect(&client, &RawClient::messageReceived, &loop, [&](const QCborMap &message) {
        if (message.value(u"type"_s).toString() == type)
            loop.quit();
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    return client.take(type, 0);
}

void benchIndex(Corpus &corpus)
{
    search::SearchIndex index;
    index.addMap(u"docs"_s, { u"title"_s, u"body"_s });
    std::vector<QCborMap> records;
    for (int i = 0; i < kRecords; ++i)
        records.push_back(corpus.record());
    const double start = cpuSeconds();
    index.beginBatch();
    for (int i = 0; i < kRecords; ++i)
        index.put(u"docs"_s, u"doc-"_s + QString::number(i), records[size_t(i)]);
    index.endBatch();
    const double seconds = cpuSeconds() - start;
    printRow("index 100k records (title 5 + body 30)", kRecords / seconds, "rec/s",
        QStringLiteral("%1 s CPU in all").arg(seconds, 0, 'f', 2));

    const struct {
        const char *what;
        QString text;
    } queries[] = {
        { "query: 1 rare term", corpus.word(5000) },
        { "query: 1 mid term (~1% of docs)", corpus.word(200) },
        { "query: 3 terms", corpus.word(300) + u' ' + corpus.word(800) + u' ' + corpus.word(3000) },
        { "query: 1 common term (~25% of docs)", corpus.word(2) },
    };
    for (const auto &q : queries) {
        const search::SearchQuery query = index.prepare(q.text);
        const qsizetype hits = index.search(u"docs"_s, query).size();
        printRow(q.what, perSecond(2, [&] { index.search(u"docs"_s, query); }), "q/s",
            QStringLiteral("%1 hits").arg(hits));
    }
    const search::SearchQuery query = index.prepare(corpus.word(200));
    int i = 0;
    printRow("rescore one record (live update)",
        perSecond(
            2, [&] { index.score(u"docs"_s, query, u"doc-"_s + QString::number(i++ % kRecords)); }),
        "op/s");
}

// The startup rebuild of SearchService over a map of 100k records: how long in all, and the
// longest the event loop waited for it in one turn.
void benchRebuild(Corpus &corpus)
{
    maps::MapRegistry maps(u"bench"_s);
    crdt::LwwMap *map = maps.lwwMap(u"docs"_s);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < kRecords; ++i) {
        map->merge(u"doc-"_s + QString::number(i),
            crdt::LwwRecord { corpus.record(), { now, i, u"bench"_s }, std::nullopt });
    }
    const auth::SecurityPolicy policy;
    search::SearchService service(
        maps, policy, *search::SearchConfig::parse(u"docs:title+body"_s, nullptr));
    QEventLoop loop;
    QObject::connect(&service, &search::SearchService::rebuilt, &loop, &QEventLoop::quit);
    QElapsedTimer sinceTick;
    qint64 longestTurnMs = 0;
    QTimer ticker;
    ticker.setInterval(0);
    QObject::connect(&ticker, &QTimer::timeout,
        [&] { longestTurnMs = std::max(longestTurnMs, sinceTick.restart()); });
    QElapsedTimer wall;
    wall.start();
    const double start = cpuSeconds();
    sinceTick.start();
    ticker.start();
    QTimer::singleShot(0, &service, &search::SearchService::rebuild);
    loop.exec();
    printRow("startup rebuild of 100k records", kRecords / (cpuSeconds() - start), "rec/s",
        QStringLiteral("%1 s wall; longest turn %2 ms")
            .arg(double(wall.elapsed()) / 1000, 0, 'f', 1)
            .arg(longestTurnMs));
}

QCborMap opBatch(const QCborArray &ops)
{
    return { { u"type"_s, u"OP_BATCH"_s }, { u"payload"_s, QCborMap { { u"ops"_s, ops } } } };
}

QCborMap putOp(int id, const QString &key, const QCborMap &value)
{
    protocol::ClientOp op;
    op.id = QString::number(id);
    op.mapName = u"docs"_s;
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { QDateTime::currentMSecsSinceEpoch(), id, u"bench"_s },
        std::nullopt };
    return op.toCbor();
}

// Waits for the OP_ACK of the batch whose last op is lastId.
bool acknowledged(RawClient &client, int lastId)
{
    while (const auto ack = await(client, u"OP_ACK"_s)) {
        if (ack->value(u"payload"_s).toMap().value(u"lastId"_s).toString()
            == QString::number(lastId))
            return true;
    }
    return false;
}

bool benchServer(Corpus &corpus)
{
    ServerConfig config = testConfig();
    config.fullTextSearch = u"docs:title+body"_s;
    const auto server = startServer(config, 60000);
    if (!server)
        return false;
    RawClient writer;
    RawClient reader;
    const QByteArray token = TestTokens::userToken(kTestSecret);
    if (!writer.connectAndAuthenticate(server->port(), token, 30000)
        || !reader.connectAndAuthenticate(server->port(), token, 30000))
        return false;

    int nextId = 1;
    QElapsedTimer timer;
    timer.start();
    for (int batch = 0; batch < kRecords / 500; ++batch) {
        QCborArray ops;
        for (int i = 0; i < 500; ++i, ++nextId)
            ops.append(putOp(nextId, u"doc-"_s + QString::number(nextId), corpus.record()));
        writer.send(opBatch(ops));
        if (!acknowledged(writer, nextId - 1))
            return false;
    }
    printRow("server: write + index 100k records", kRecords / (timer.nsecsElapsed() * 1e-9),
        "rec/s", u"wall clock; OP_BATCH of 500, memory storage"_s);

    int request = 0;
    const QString text = corpus.word(200);
    const double rate = perSecond(3, [&] {
        reader.send({ { u"type"_s, u"SEARCH"_s },
            { u"payload"_s,
                QCborMap { { u"requestId"_s, QString::number(request++) },
                    { u"mapName"_s, u"docs"_s }, { u"query"_s, text },
                    { u"options"_s, QCborMap { { u"limit"_s, 10 } } } } } });
        await(reader, u"SEARCH_RESP"_s);
    });
    printRow("server: SEARCH round trips, 1 client", rate, "q/CPU s",
        u"mid term, limit 10; server and client"_s);

    const QString marker = u"zqxmarker"_s;
    reader.send({ { u"type"_s, u"SEARCH_SUB"_s },
        { u"payload"_s,
            QCborMap { { u"subscriptionId"_s, u"live"_s }, { u"mapName"_s, u"docs"_s },
                { u"query"_s, marker } } } });
    if (!await(reader, u"SEARCH_RESP"_s))
        return false;
    std::vector<double> latencies;
    for (int i = 0; i < kLatencySamples; ++i, ++nextId) {
        QCborMap value = corpus.record();
        value.insert(u"title"_s, marker + u' ' + value.value(u"title"_s).toString());
        QElapsedTimer sample;
        sample.start();
        writer.send(opBatch({ putOp(nextId, u"live-"_s + QString::number(i), value) }));
        if (!await(reader, u"SEARCH_UPDATE"_s))
            return false;
        latencies.push_back(double(sample.nsecsElapsed()) * 1e-6);
        if (!acknowledged(writer, nextId))
            return false;
    }
    std::sort(latencies.begin(), latencies.end());
    printRow("server: write -> SEARCH_UPDATE, median", latencies[latencies.size() / 2], "ms",
        u"wall clock; 100k indexed, memory storage"_s);
    printRow("server: write -> SEARCH_UPDATE, p99", latencies[latencies.size() * 99 / 100], "ms");
    return stopServer(*server);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    std::printf("| %-36s | %21s | %-44s |\n", "full-text search", "figure", "note");
    Corpus corpus;
    benchIndex(corpus);
    benchRebuild(corpus);
    if (!benchServer(corpus)) {
        std::fprintf(stderr, "bench_search: the server part failed\n");
        return 1;
    }
    return 0;
}

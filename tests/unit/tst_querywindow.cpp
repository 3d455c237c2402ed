#include "live/QueryWindow.h"
#include "query/Matcher.h"
#include "query/QueryCursor.h"

#include <QCborArray>
#include <QCborMap>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QRandomGenerator>
#include <QTest>

using namespace wingman;
using namespace Qt::StringLiterals;
using live::QueryWindow;
using query::Matcher;
using query::Query;
using query::QueryCursor;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

Query parse(const char *json)
{
    QString error;
    const auto query
        = Query::fromCbor(QCborMap::fromJsonObject(QJsonDocument::fromJson(json).object()), &error);
    if (!query)
        qFatal("bad query in test: %s (%s)", json, qPrintable(error));
    return *query;
}

Query withCursor(Query query, const QString &cursor)
{
    QCborMap map = query.toCbor();
    map.insert(u"cursor"_s, cursor);
    QString error;
    return *Query::fromCbor(map, &error);
}

QCborMap item(const QCborValue &n)
{
    return QCborMap { { u"n"_s, n } };
}

// The window of every match after start, computed from scratch: what the incremental window must
// always equal.
QStringList modelWindow(const Query &query, const QMap<QString, QCborValue> &records,
    const std::optional<QueryCursor> &start)
{
    QList<Matcher::Entry> entries;
    for (auto it = records.cbegin(); it != records.cend(); ++it) {
        if (!Matcher::matches(query, it.value()))
            continue;
        if (start
            && Matcher::compare(query, Matcher::sortValues(query, it.value()), it.key(),
                   start->sortValues, start->key)
                <= 0)
            continue;
        entries.append({ it.key(), it.value() });
    }
    QStringList keys;
    for (const Matcher::Entry &entry : Matcher::sortAndLimit(query, entries))
        keys.append(entry.key);
    return keys;
}

QStringList keysOf(const QueryWindow &window)
{
    QStringList keys;
    for (const QueryWindow::Member &member : window.members())
        keys.append(member.key);
    return keys;
}

// One change as the live feed says it: "-key" per REMOVE, "+key" per ENTER, "~key" per UPDATE.
QStringList describe(const QueryWindow::Delta &delta)
{
    QStringList out;
    for (const QString &key : delta.left)
        out.append(u'-' + key);
    for (const QueryWindow::Member &member : delta.entered)
        out.append(u'+' + member.key);
    if (delta.updated)
        out.append(u'~' + delta.updated->key);
    return out;
}

struct Harness {
    Query query;
    QueryWindow window;
    QMap<QString, QCborValue> records;

    Harness(const Query &q, QMap<QString, QCborValue> initial,
        std::optional<QueryCursor> start = std::nullopt)
        : query(q)
        , window(q, start)
        , records(std::move(initial))
    {
        for (auto it = records.cbegin(); it != records.cend(); ++it) {
            const crdt::Value value(it.value());
            window.load(
                it.key(), Matcher::matches(query, it.value()) ? &value : nullptr, it.value());
        }
    }

    QStringList set(const QString &key, const std::optional<QCborValue> &value)
    {
        if (value)
            records.insert(key, *value);
        else
            records.remove(key);
        const bool matches = value && Matcher::matches(query, *value);
        const crdt::Value live = value ? crdt::Value(*value) : crdt::Value();
        return describe(window.apply(key, matches ? &live : nullptr, value.value_or(QCborValue())));
    }
};

} // namespace

class TestQueryWindow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void sortOrderRules();
    void tiesFallToTheKeyAscending();
    void enterPushesOutTheLastMember();
    void leaveRefillsFromTheNextMatch();
    void memberMovingInsideIsAnUpdate();
    void memberMovingOutSwapsWithTheNext();
    void notFullWindowTakesEveryMatch();
    void changesOutsideTheWindowSayNothing();
    void windowAfterACursorKeepsItsStart();
    void randomChangesMatchTheModel_data();
    void randomChangesMatchTheModel();
    void cursorRoundTrip();
    void cursorStatus();
};

void TestQueryWindow::sortOrderRules()
{
    // nil/absent < false < true < numbers < strings (UTF-16 code units); desc reverses values.
    const QList<QCborValue> ascending { QCborValue(QCborValue::Null), false, true, -2.5, 1, u"B"_s,
        u"a"_s, u"\U0001F600"_s, u"\uFF5E"_s };
    QMap<QString, QCborValue> records;
    for (qsizetype i = 0; i < ascending.size(); ++i)
        records.insert(u"k%1"_s.arg(i), item(ascending.at(i)));
    records.insert(u"absent"_s, QCborMap { { u"other"_s, 1 } });

    Harness asc(parse(R"({"sort":{"n":"asc"}})"), records);
    QCOMPARE(keysOf(asc.window),
        (QStringList { u"absent"_s, u"k0"_s, u"k1"_s, u"k2"_s, u"k3"_s, u"k4"_s, u"k5"_s, u"k6"_s,
            u"k7"_s, u"k8"_s }));
    // A surrogate pair (U+D83D…) sorts before U+FF5E by code units, not by code point.
    Harness desc(parse(R"({"sort":{"n":"desc"}})"), records);
    QCOMPARE(keysOf(desc.window),
        (QStringList { u"k8"_s, u"k7"_s, u"k6"_s, u"k5"_s, u"k4"_s, u"k3"_s, u"k2"_s, u"k1"_s,
            u"absent"_s, u"k0"_s }));
}

void TestQueryWindow::tiesFallToTheKeyAscending()
{
    const QMap<QString, QCborValue> records { { u"b"_s, item(1) }, { u"a"_s, item(1) },
        { u"c"_s, item(2) } };
    Harness desc(parse(R"({"sort":{"n":"desc"}})"), records);
    QCOMPARE(keysOf(desc.window), (QStringList { u"c"_s, u"a"_s, u"b"_s }));
    Harness noSort(parse(R"({"limit":2})"), records);
    QCOMPARE(keysOf(noSort.window), (QStringList { u"a"_s, u"b"_s }));
    QVERIFY(noSort.window.hasMore());
}

void TestQueryWindow::enterPushesOutTheLastMember()
{
    Harness h(parse(R"({"sort":{"n":"asc"},"limit":2})"),
        { { u"a"_s, item(1) }, { u"b"_s, item(2) }, { u"c"_s, item(3) } });
    QCOMPARE(keysOf(h.window), (QStringList { u"a"_s, u"b"_s }));
    QCOMPARE(h.set(u"x"_s, item(0)), (QStringList { u"-b"_s, u"+x"_s }));
    QCOMPARE(keysOf(h.window), (QStringList { u"x"_s, u"a"_s }));
}

void TestQueryWindow::leaveRefillsFromTheNextMatch()
{
    Harness h(parse(R"({"sort":{"n":"asc"},"limit":2})"),
        { { u"a"_s, item(1) }, { u"b"_s, item(2) }, { u"c"_s, item(3) } });
    QCOMPARE(h.set(u"a"_s, std::nullopt), (QStringList { u"-a"_s, u"+c"_s }));
    QCOMPARE(keysOf(h.window), (QStringList { u"b"_s, u"c"_s }));
    QVERIFY(!h.window.hasMore());
    // Nothing left to refill with.
    QCOMPARE(h.set(u"c"_s, std::nullopt), QStringList { u"-c"_s });
    QCOMPARE(h.set(u"b"_s, std::nullopt), QStringList { u"-b"_s });
    QVERIFY(h.window.members().isEmpty());
    QCOMPARE(h.set(u"z"_s, item(9)), QStringList { u"+z"_s });
}

void TestQueryWindow::memberMovingInsideIsAnUpdate()
{
    Harness h(parse(R"({"sort":{"n":"asc"},"limit":2})"),
        { { u"a"_s, item(1) }, { u"b"_s, item(2) }, { u"c"_s, item(3) } });
    QCOMPARE(h.set(u"b"_s, item(0)), QStringList { u"~b"_s });
    QCOMPARE(keysOf(h.window), (QStringList { u"b"_s, u"a"_s }));
}

void TestQueryWindow::memberMovingOutSwapsWithTheNext()
{
    Harness h(parse(R"({"sort":{"n":"asc"},"limit":2})"),
        { { u"a"_s, item(1) }, { u"b"_s, item(2) }, { u"c"_s, item(3) } });
    QCOMPARE(h.set(u"a"_s, item(10)), (QStringList { u"-a"_s, u"+c"_s }));
    // A member that stops matching leaves too.
    Harness filtered(parse(R"({"where":{"n":{"$lt":5}},"sort":{"n":"asc"},"limit":1})"),
        { { u"a"_s, item(1) }, { u"b"_s, item(2) } });
    QCOMPARE(filtered.set(u"a"_s, item(7)), (QStringList { u"-a"_s, u"+b"_s }));
}

void TestQueryWindow::notFullWindowTakesEveryMatch()
{
    Harness h(parse(R"({"sort":{"n":"desc"},"limit":5})"), { { u"a"_s, item(1) } });
    QCOMPARE(h.set(u"b"_s, item(2)), QStringList { u"+b"_s });
    QCOMPARE(keysOf(h.window), (QStringList { u"b"_s, u"a"_s }));
    QVERIFY(!h.window.hasMore());
}

void TestQueryWindow::changesOutsideTheWindowSayNothing()
{
    Harness h(
        parse(R"({"sort":{"n":"asc"},"limit":1})"), { { u"a"_s, item(1) }, { u"b"_s, item(2) } });
    QVERIFY(h.set(u"c"_s, item(5)).isEmpty());
    QVERIFY(h.set(u"b"_s, item(6)).isEmpty());
    QVERIFY(h.set(u"b"_s, std::nullopt).isEmpty());
    QVERIFY(h.window.hasMore());
}

void TestQueryWindow::windowAfterACursorKeepsItsStart()
{
    const Query query = parse(R"({"sort":{"n":"asc"},"limit":2})");
    QueryCursor start;
    start.sortValues = { 2 };
    start.key = u"b"_s;
    Harness h(query,
        { { u"a"_s, item(1) }, { u"b"_s, item(2) }, { u"c"_s, item(3) }, { u"d"_s, item(4) },
            { u"e"_s, item(5) } },
        start);
    QCOMPARE(keysOf(h.window), (QStringList { u"c"_s, u"d"_s }));
    // Before the start: not this page's business, even as it empties.
    QVERIFY(h.set(u"x"_s, item(0)).isEmpty());
    QVERIFY(h.set(u"a"_s, std::nullopt).isEmpty());
    QVERIFY(h.set(u"b"_s, std::nullopt).isEmpty());
    QCOMPARE(keysOf(h.window), (QStringList { u"c"_s, u"d"_s }));
    QCOMPARE(h.set(u"c"_s, item(1)), (QStringList { u"-c"_s, u"+e"_s }));
    QCOMPARE(h.set(u"f"_s, item(2.5)), (QStringList { u"-e"_s, u"+f"_s }));
}

void TestQueryWindow::randomChangesMatchTheModel_data()
{
    QTest::addColumn<QByteArray>("query");
    QTest::addColumn<bool>("withStart");
    QTest::newRow("asc, limit 5") << QByteArray(R"({"sort":{"n":"asc"},"limit":5})") << false;
    QTest::newRow("desc, limit 3, filtered")
        << QByteArray(R"({"where":{"n":{"$gte":10}},"sort":{"n":"desc"},"limit":3})") << false;
    QTest::newRow("limit 1") << QByteArray(R"({"sort":{"n":"asc"},"limit":1})") << false;
    QTest::newRow("key order, limit 4") << QByteArray(R"({"limit":4})") << false;
    QTest::newRow("sort, no limit") << QByteArray(R"({"sort":{"n":"desc"}})") << false;
    QTest::newRow("filter only") << QByteArray(R"({"where":{"n":{"$lt":15}}})") << false;
    QTest::newRow("every record") << QByteArray("{}") << false;
    QTest::newRow("after a cursor") << QByteArray(R"({"sort":{"n":"asc"},"limit":4})") << true;
}

void TestQueryWindow::randomChangesMatchTheModel()
{
    QFETCH(QByteArray, query);
    QFETCH(bool, withStart);
    const Query parsed = parse(query.constData());
    QRandomGenerator random(42);
    QMap<QString, QCborValue> initial;
    for (int i = 0; i < 20; ++i)
        initial.insert(u"k%1"_s.arg(random.bounded(40)), item(random.bounded(30)));
    std::optional<QueryCursor> start;
    if (withStart) {
        start = QueryCursor();
        start->sortValues = { 12 };
        start->key = u"k20"_s;
    }
    Harness h(parsed, initial, start);
    QCOMPARE(keysOf(h.window), modelWindow(parsed, h.records, start));

    for (int step = 0; step < 2000; ++step) {
        const QStringList before = modelWindow(parsed, h.records, start);
        const QString key = u"k%1"_s.arg(random.bounded(40));
        const int roll = random.bounded(10);
        std::optional<QCborValue> value;
        if (roll > 1)
            value = item(roll == 2 ? QCborValue(u"text"_s) : QCborValue(random.bounded(30)));
        const QStringList said = h.set(key, value);
        const QStringList after = modelWindow(parsed, h.records, start);
        QCOMPARE(keysOf(h.window), after);

        // What was said turns the client's set into the new window, in REMOVE, ENTER, UPDATE
        // order, and says nothing else.
        QStringList expected;
        for (const QString &k : before) {
            if (!after.contains(k))
                expected.append(u'-' + k);
        }
        for (const QString &k : after) {
            if (!before.contains(k))
                expected.append(u'+' + k);
        }
        if (before.contains(key) && after.contains(key))
            expected.append(u'~' + key);
        QCOMPARE(said.size(), expected.size());
        for (const QString &entry : expected)
            QVERIFY2(said.contains(entry), qPrintable(said.join(u' ')));
        const QString order = u"-+~"_s;
        for (qsizetype i = 1; i < said.size(); ++i)
            QVERIFY(order.indexOf(said.at(i - 1).front()) <= order.indexOf(said.at(i).front()));
        QCOMPARE(
            h.window.hasMore(), parsed.limit() > 0 && [&] {
                QList<Matcher::Entry> all;
                for (auto it = h.records.cbegin(); it != h.records.cend(); ++it) {
                    if (Matcher::matches(parsed, it.value())
                        && (!start
                            || Matcher::compare(parsed, Matcher::sortValues(parsed, it.value()),
                                   it.key(), start->sortValues, start->key)
                                > 0))
                        all.append({ it.key(), it.value() });
                }
                return all.size() > parsed.limit();
            }());
    }
}

void TestQueryWindow::cursorRoundTrip()
{
    QueryCursor cursor;
    cursor.sortValues = { 2.5, u"x"_s, QCborValue(QCborValue::Null), true };
    cursor.key = u"k/1"_s;
    cursor.queryHash = 0xfedcba98u;
    cursor.createdMs = kNow;
    const QString text = cursor.encode();
    QVERIFY(!text.contains(u'='));
    QVERIFY(!text.contains(u'+') && !text.contains(u'/'));

    // The documented form: base64url of {"v":[...],"k":"...","h":...,"t":...}.
    const QJsonObject json = QJsonDocument::fromJson(
        QByteArray::fromBase64(text.toLatin1(), QByteArray::Base64UrlEncoding))
                                 .object();
    QCOMPARE(json.value(u"k"_s).toString(), u"k/1"_s);
    QCOMPARE(json.value(u"h"_s).toDouble(), double(0xfedcba98u));
    QCOMPARE(json.value(u"t"_s).toDouble(), double(kNow));
    QCOMPARE(json.value(u"v"_s).toArray().size(), 4);

    const auto decoded = QueryCursor::decode(text);
    QVERIFY(decoded);
    QCOMPARE(decoded->key, cursor.key);
    QCOMPARE(decoded->queryHash, cursor.queryHash);
    QCOMPARE(decoded->createdMs, cursor.createdMs);
    QCOMPARE(decoded->sortValues.size(), 4);
    for (qsizetype i = 0; i < 4; ++i) {
        QCOMPARE(Matcher::compare(parse(R"({"sort":{"a":"asc"}})"), { decoded->sortValues.at(i) },
                     {}, { cursor.sortValues.at(i) }, {}),
            0);
    }
}

void TestQueryWindow::cursorStatus()
{
    const Query query = parse(R"({"where":{"s":"open"},"sort":{"n":"asc"},"limit":2})");
    QueryCursor cursor;
    cursor.sortValues = { 3 };
    cursor.key = u"c"_s;
    cursor.queryHash = QueryCursor::hashOf(query);
    cursor.createdMs = kNow;

    QueryCursor position;
    QCOMPARE(QueryCursor::check(query, kNow, &position), QueryCursor::Status::None);
    QCOMPARE(QueryCursor::check(withCursor(query, cursor.encode()), kNow + 1000, &position),
        QueryCursor::Status::Valid);
    QCOMPARE(position.key, u"c"_s);
    // The limit is not part of what a cursor was made for.
    QCOMPARE(QueryCursor::check(
                 withCursor(parse(R"({"where":{"s":"open"},"sort":{"n":"asc"},"limit":7})"),
                     cursor.encode()),
                 kNow, nullptr),
        QueryCursor::Status::Valid);
    QCOMPARE(QueryCursor::check(
                 withCursor(query, cursor.encode()), kNow + QueryCursor::kMaxAgeMs + 1, nullptr),
        QueryCursor::Status::Expired);

    const auto invalid = [&](const QString &text) {
        return QueryCursor::check(withCursor(query, text), kNow, nullptr)
            == QueryCursor::Status::Invalid;
    };
    QVERIFY(invalid(u"not base64 !"_s));
    QVERIFY(invalid(QString::fromLatin1(QByteArray("[1,2]").toBase64(
        QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals))));
    QVERIFY(invalid(QString::fromLatin1(
        QByteArray(R"({"v":[1],"k":"a"})")
            .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals))));
    // Made for another where, or another sort.
    for (const char *other : { R"({"where":{"s":"done"},"sort":{"n":"asc"}})",
             R"({"where":{"s":"open"},"sort":{"n":"desc"}})" }) {
        QueryCursor foreign = cursor;
        foreign.queryHash = QueryCursor::hashOf(parse(other));
        QVERIFY(invalid(foreign.encode()));
    }
    QueryCursor wrongArity = cursor;
    wrongArity.sortValues = { 3, 4 };
    QVERIFY(invalid(wrongArity.encode()));
}

QTEST_GUILESS_MAIN(TestQueryWindow)
#include "tst_querywindow.moc"

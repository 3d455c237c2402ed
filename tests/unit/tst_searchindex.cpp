#include "search/SearchIndex.h"

#include <QCborMap>
#include <QTest>

using namespace Qt::StringLiterals;
using wingman::search::SearchHit;
using wingman::search::SearchIndex;

namespace {

QCborMap doc(const QString &title, const QString &body)
{
    return QCborMap { { u"title"_s, title }, { u"body"_s, body } };
}

// The three documents of docs/protocol.md's BM25 vector.
void addVectorDocuments(SearchIndex &index)
{
    QVERIFY(index.addMap(u"articles"_s, { u"title"_s, u"body"_s }));
    index.put(u"articles"_s, u"a"_s,
        doc(u"Machine learning basics"_s, u"An introduction to machine learning"_s));
    index.put(
        u"articles"_s, u"b"_s, doc(u"Deep learning"_s, u"Neural networks and deep learning"_s));
    index.put(u"articles"_s, u"c"_s, doc(u"Cooking"_s, u"How to cook pasta"_s));
}

} // namespace

class TestSearchIndex : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void tokenizes_data();
    void tokenizes();
    void scoresWholeDocuments();
    void scoresBoostedFields();
    void repeatedQueryTokensCountAgain();
    void followsUpdatesAndRemovals();
    void documentsWithoutTokensAreNotIndexed();
    void scoresOneDocument();
    void unknownMapHasNoHits();
};

void TestSearchIndex::tokenizes_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QStringList>("tokens");
    QTest::newRow("english") << u"The Quick Brown Foxes are jumping over the lazy dogs!"_s
                             << QStringList { u"quick"_s, u"brown"_s, u"fox"_s, u"jump"_s,
                                    u"lazi"_s, u"dog"_s };
    QTest::newRow("unicode") << u"Ça coûte 42€ — naïve café x y"_s
                             << QStringList { u"ça"_s, u"coût"_s, u"42"_s, u"naïv"_s, u"café"_s };
    QTest::newRow("porter") << u"generalizations relational hopeful goodness"_s
                            << QStringList { u"gener"_s, u"relat"_s, u"hope"_s, u"good"_s };
    QTest::newRow("empty") << QString() << QStringList();
    QTest::newRow("only stopwords") << u"the and of it"_s << QStringList();
    QTest::newRow("too long") << QString(41, u'z') + u" ok"_s << QStringList { u"ok"_s };
}

void TestSearchIndex::tokenizes()
{
    QFETCH(QString, text);
    QFETCH(QStringList, tokens);
    SearchIndex index;
    QVERIFY2(index.isOpen(), qPrintable(index.errorString()));
    QCOMPARE(index.tokenize(text), tokens);
}

void TestSearchIndex::scoresWholeDocuments()
{
    SearchIndex index;
    addVectorDocuments(index);
    const QList<SearchHit> hits = index.search(u"articles"_s, index.prepare(u"machine learning"_s));
    QCOMPARE(hits.size(), 2);
    QCOMPARE(hits[0].key, u"a"_s);
    QVERIFY(qFuzzyCompare(hits[0].score, 1.8886581899209567));
    QCOMPARE(hits[0].matchedTerms, (QStringList { u"machin"_s, u"learn"_s }));
    QCOMPARE(hits[1].key, u"b"_s);
    QVERIFY(qFuzzyCompare(hits[1].score, 0.6118390439885316));
    QCOMPARE(hits[1].matchedTerms, QStringList { u"learn"_s });
}

void TestSearchIndex::scoresBoostedFields()
{
    SearchIndex index;
    addVectorDocuments(index);
    const QList<SearchHit> hits
        = index.search(u"articles"_s, index.prepare(u"learning"_s, { { u"title"_s, 2.0 } }));
    QCOMPARE(hits.size(), 2);
    QCOMPARE(hits[0].key, u"b"_s);
    QVERIFY(qFuzzyCompare(hits[0].score, 1.3536104522277186));
    QCOMPARE(hits[1].key, u"a"_s);
    QVERIFY(qFuzzyCompare(hits[1].score, 1.2503870136537496));
}

void TestSearchIndex::repeatedQueryTokensCountAgain()
{
    SearchIndex index;
    addVectorDocuments(index);
    const auto once = index.score(u"articles"_s, index.prepare(u"pasta"_s), u"c"_s);
    const auto twice = index.score(u"articles"_s, index.prepare(u"pasta pasta"_s), u"c"_s);
    QVERIFY(once && twice);
    QVERIFY(qFuzzyCompare(twice->score, 2 * once->score));
    QCOMPARE(twice->matchedTerms, QStringList { u"pasta"_s });
}

void TestSearchIndex::followsUpdatesAndRemovals()
{
    SearchIndex index;
    addVectorDocuments(index);
    const auto query = index.prepare(u"pasta"_s);
    QCOMPARE(index.search(u"articles"_s, query).size(), 1);
    index.put(u"articles"_s, u"c"_s, doc(u"Cooking"_s, u"How to bake bread"_s));
    QVERIFY(index.search(u"articles"_s, query).isEmpty());
    QCOMPARE(index.search(u"articles"_s, index.prepare(u"bread"_s)).size(), 1);
    index.remove(u"articles"_s, u"c"_s);
    QVERIFY(index.search(u"articles"_s, index.prepare(u"bread"_s)).isEmpty());
    QCOMPARE(index.documentCount(u"articles"_s), 2);
    QVERIFY(!index.contains(u"articles"_s, u"c"_s));
}

void TestSearchIndex::documentsWithoutTokensAreNotIndexed()
{
    SearchIndex index;
    addVectorDocuments(index);
    index.put(u"articles"_s, u"d"_s, doc(u"the"_s, u"a an"_s));
    index.put(u"articles"_s, u"e"_s, QCborValue(42));
    index.put(u"articles"_s, u"f"_s, QCborMap { { u"title"_s, 7 } });
    QCOMPARE(index.documentCount(u"articles"_s), 3);
    // A document that loses its tokens leaves the index.
    index.put(u"articles"_s, u"c"_s, doc(u"of"_s, u"to"_s));
    QCOMPARE(index.documentCount(u"articles"_s), 2);
}

void TestSearchIndex::scoresOneDocument()
{
    SearchIndex index;
    addVectorDocuments(index);
    const auto query = index.prepare(u"machine learning"_s);
    const auto a = index.score(u"articles"_s, query, u"a"_s);
    QVERIFY(a);
    QVERIFY(qFuzzyCompare(a->score, 1.8886581899209567));
    QVERIFY(!index.score(u"articles"_s, query, u"c"_s));
    QVERIFY(!index.score(u"articles"_s, query, u"missing"_s));
}

void TestSearchIndex::unknownMapHasNoHits()
{
    SearchIndex index;
    addVectorDocuments(index);
    QVERIFY(index.search(u"other"_s, index.prepare(u"learning"_s)).isEmpty());
    QVERIFY(index.search(u"articles"_s, index.prepare(u"the"_s)).isEmpty());
    QVERIFY(!index.addMap(u"articles"_s, { u"title"_s }));
}

QTEST_GUILESS_MAIN(TestSearchIndex)
#include "tst_searchindex.moc"

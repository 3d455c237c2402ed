#pragma once

#include <QCborValue>
#include <QHash>
#include <QList>
#include <QLoggingCategory>
#include <QMap>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace wingman::search {

Q_DECLARE_LOGGING_CATEGORY(lcSearch)

// A query as the index runs it: its distinct tokens, each with how often the text said it
// (a repeated token counts again), and the per-field boost (empty: whole-document BM25).
struct SearchQuery {
    QStringList tokens;
    QList<int> repeats;
    QMap<QString, double> boost;

    bool isEmpty() const { return tokens.isEmpty(); }
};

struct SearchHit {
    QString key;
    double score = 0;
    QStringList matchedTerms; // the distinct query tokens the document holds
};

// The full-text index of one node: an in-memory SQLite database with one FTS5 table per indexed
// map (docs/protocol.md "Full-text search"). Text is tokenized here (lowercase, split on what is
// not a letter or digit, short words and stopwords dropped, stemmed by FTS5's Porter stemmer) and
// FTS5 stores the tokens; a BM25 auxiliary function scores matches with the protocol's idf
// (ln(1 + (N - df + 0.5) / (df + 0.5))) and k1/b per map, which FTS5's own bm25() does not use.
class SearchIndex
{
public:
    SearchIndex();
    ~SearchIndex();
    SearchIndex(const SearchIndex &) = delete;
    SearchIndex &operator=(const SearchIndex &) = delete;

    // False when SQLite or its FTS5 module is unusable; errorString() says why.
    bool isOpen() const;
    QString errorString() const;

    // Indexes mapName's documents as the string values of fields, in this order.
    bool addMap(
        const QString &mapName, const QStringList &fields, double k1 = 1.2, double b = 0.75);
    bool hasMap(const QString &mapName) const;
    QStringList fields(const QString &mapName) const;

    // The protocol's token vector of text.
    QStringList tokenize(QStringView text) const;
    SearchQuery prepare(QStringView text, const QMap<QString, double> &boost = {}) const;

    // Replaces key's document by value's (a map's string fields); a value without tokens leaves
    // the index.
    void put(const QString &mapName, const QString &key, const QCborValue &value);
    void remove(const QString &mapName, const QString &key);
    bool contains(const QString &mapName, const QString &key) const;
    qsizetype documentCount(const QString &mapName) const;

    // Many puts in one SQLite transaction; calls nest.
    void beginBatch();
    void endBatch();

    // Every document matching a query token, score descending then key ascending.
    QList<SearchHit> search(const QString &mapName, const SearchQuery &query) const;
    // key's score against query; nullopt when it matches no token (or is not indexed).
    std::optional<SearchHit> score(
        const QString &mapName, const SearchQuery &query, const QString &key) const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace wingman::search

#include "search/SearchIndex.h"

#include <QCborMap>
#include <QSet>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace wingman::search {

Q_LOGGING_CATEGORY(lcSearch, "wingman.search")

namespace {

constexpr qsizetype kMinTokenLength = 2;
constexpr qsizetype kMaxTokenLength = 40;
constexpr const char *kScoringPointer = "wingman_search_scoring";

const QSet<QString> &stopwords()
{
    static const QSet<QString> words = [] {
        const QString list = QStringLiteral(
            "a an the i me my myself we our ours ourselves you your yours yourself yourselves he "
            "him his himself she her hers herself it its itself they them their theirs themselves "
            "what which who whom this that these those am is are was were be been being have has "
            "had having do does did doing will would shall should can could may might must ought "
            "about above across after against along among around at before behind below beneath "
            "beside between beyond by down during except for from in inside into near of off on "
            "onto out outside over past since through throughout to toward towards under "
            "underneath until up upon with within without and but or nor so yet both either "
            "neither not only as if than when while although because unless whether here there "
            "where how why all each every any some no none more most other such own same too very "
            "just also now then again ever once few many much several s t d ll m ve re");
        const QStringList split = list.split(u' ');
        return QSet<QString>(split.cbegin(), split.cend());
    }();
    return words;
}

struct StatementDeleter {
    void operator()(sqlite3_stmt *statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// What the scoring function needs besides the row: the corpus statistics, gathered once per
// query, and where it leaves which phrases the row matched.
struct Scoring {
    double k1 = 1.2;
    double b = 0.75;
    int columns = 0;
    bool perField = false;
    std::vector<double> boost; // per column
    double avgdl = 0;
    std::vector<double> avgdlField; // per column
    std::vector<double> idf; // per phrase
    std::vector<double> idfField; // per phrase and column
    std::vector<int> repeats; // per phrase
    std::vector<char> hit; // per phrase, for the last row scored
    std::vector<int> tf; // scratch: per phrase and column, for the row being scored
    std::vector<int> lengths; // scratch: per column
};

double bm25Term(double idf, double tf, double dl, double avgdl, double k1, double b)
{
    const double norm = avgdl > 0 ? dl / avgdl : 0;
    return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * norm));
}

double inverseDocumentFrequency(qint64 documents, qint64 holding)
{
    return std::log((double(documents) - double(holding) + 0.5) / (double(holding) + 0.5) + 1);
}

void scoreRow(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *context, int count,
    sqlite3_value **values)
{
    auto *scoring = count == 1
        ? static_cast<Scoring *>(sqlite3_value_pointer(values[0], kScoringPointer))
        : nullptr;
    if (!scoring) {
        sqlite3_result_error(context, "wingman_bm25 needs its scoring parameters", -1);
        return;
    }
    const int phrases = api->xPhraseCount(fts);
    const int columns = scoring->columns;
    if (phrases != int(scoring->repeats.size())) {
        sqlite3_result_error(context, "wingman_bm25: phrase count mismatch", -1);
        return;
    }
    std::vector<int> &tf = scoring->tf;
    tf.assign(size_t(phrases) * columns, 0);
    int instances = 0;
    api->xInstCount(fts, &instances);
    for (int i = 0; i < instances; ++i) {
        int phrase = 0, column = 0, offset = 0;
        if (api->xInst(fts, i, &phrase, &column, &offset) == SQLITE_OK)
            ++tf[size_t(phrase) * columns + column];
    }
    std::vector<int> &lengths = scoring->lengths;
    lengths.assign(columns, 0);
    int dl = 0;
    for (int c = 0; c < columns; ++c) {
        api->xColumnSize(fts, c, &lengths[c]);
        dl += lengths[c];
    }
    double score = 0;
    for (int p = 0; p < phrases; ++p) {
        int total = 0;
        for (int c = 0; c < columns; ++c)
            total += tf[size_t(p) * columns + c];
        scoring->hit[p] = total > 0;
        if (total == 0)
            continue;
        const double repeats = scoring->repeats[p];
        if (!scoring->perField) {
            score += repeats
                * bm25Term(scoring->idf[p], total, dl, scoring->avgdl, scoring->k1, scoring->b);
            continue;
        }
        for (int c = 0; c < columns; ++c) {
            const int n = tf[size_t(p) * columns + c];
            if (n > 0) {
                score += repeats * scoring->boost[c]
                    * bm25Term(scoring->idfField[size_t(p) * columns + c], n, lengths[c],
                        scoring->avgdlField[c], scoring->k1, scoring->b);
            }
        }
    }
    sqlite3_result_double(context, score);
}

// The table's tokenizer: the text it is given is already tokens, separated by single spaces.
int createSpaceTokenizer(void *, const char **, int, Fts5Tokenizer **out)
{
    static int instance = 0;
    *out = reinterpret_cast<Fts5Tokenizer *>(&instance);
    return SQLITE_OK;
}

void deleteSpaceTokenizer(Fts5Tokenizer *) { }

int tokenizeSpaces(Fts5Tokenizer *, void *context, int, const char *text, int length,
    int (*token)(void *, int, const char *, int, int, int))
{
    int start = 0;
    for (int i = 0; i <= length; ++i) {
        if (i < length && text[i] != ' ')
            continue;
        if (i > start) {
            if (const int rc = token(context, 0, text + start, i - start, start, i);
                rc != SQLITE_OK)
                return rc;
        }
        start = i + 1;
    }
    return SQLITE_OK;
}

} // namespace

struct SearchIndex::Private {
    struct Document {
        qint64 rowid = 0;
        QList<int> lengths; // tokens per field
    };
    struct Map {
        QString table;
        QStringList fields;
        double k1 = 1.2;
        double b = 0.75;
        qint64 nextRowid = 1;
        QHash<QString, Document> documents;
        QHash<qint64, QString> keys;
        QList<qint64> fieldDocuments; // documents with tokens in each field
        QList<qint64> fieldTokens;
        Statement insert, update, erase, rowFrequency, columnFrequency;
        Statement matchAll, matchOne; // ?1 scoring, ?2 match expression, ?3 rowid
    };

    sqlite3 *db = nullptr;
    QString error;
    fts5_tokenizer porter {};
    Fts5Tokenizer *porterInstance = nullptr;
    QHash<QString, std::shared_ptr<Map>> maps;
    int batchDepth = 0;

    ~Private()
    {
        maps.clear();
        if (porterInstance)
            porter.xDelete(porterInstance);
        sqlite3_close(db);
    }

    bool fail(const QString &what)
    {
        error = QStringLiteral("%1: %2").arg(what, QString::fromUtf8(sqlite3_errmsg(db)));
        qCWarning(lcSearch).noquote() << error;
        return false;
    }

    bool exec(const QByteArray &sql)
    {
        return sqlite3_exec(db, sql.constData(), nullptr, nullptr, nullptr) == SQLITE_OK
            || fail(QString::fromUtf8(sql));
    }

    Statement prepare(const QByteArray &sql)
    {
        sqlite3_stmt *statement = nullptr;
        if (sqlite3_prepare_v3(db, sql.constData(), int(sql.size()), SQLITE_PREPARE_PERSISTENT,
                &statement, nullptr)
            != SQLITE_OK) {
            fail(QString::fromUtf8(sql));
        }
        return Statement(statement);
    }

    fts5_api *fts5()
    {
        fts5_api *api = nullptr;
        Statement statement = prepare("SELECT fts5(?1)");
        if (!statement)
            return nullptr;
        sqlite3_bind_pointer(statement.get(), 1, &api, "fts5_api_ptr", nullptr);
        sqlite3_step(statement.get());
        return api;
    }

    bool open()
    {
        if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr)
            != SQLITE_OK) {
            return fail(QStringLiteral("opening the in-memory index"));
        }
        fts5_api *api = fts5();
        if (!api) {
            error = QStringLiteral("SQLite has no FTS5 module");
            return false;
        }
        fts5_tokenizer spaces { createSpaceTokenizer, deleteSpaceTokenizer, tokenizeSpaces };
        if (api->xCreateTokenizer(api, "wingman_tokens", nullptr, &spaces, nullptr) != SQLITE_OK
            || api->xCreateFunction(api, "wingman_bm25", nullptr, scoreRow, nullptr) != SQLITE_OK)
            return fail(QStringLiteral("registering the FTS5 extensions"));
        void *porterContext = nullptr;
        if (api->xFindTokenizer(api, "porter", &porterContext, &porter) != SQLITE_OK)
            return fail(QStringLiteral("finding FTS5's porter tokenizer"));
        // Words reach it one at a time, already split and lowercased; unicode61 keeps them whole.
        const char *args[] = { "unicode61", "remove_diacritics", "0" };
        if (porter.xCreate(porterContext, args, 3, &porterInstance) != SQLITE_OK)
            return fail(QStringLiteral("creating FTS5's porter tokenizer"));
        return true;
    }

    Map *find(const QString &mapName) const
    {
        const auto it = maps.constFind(mapName);
        return it == maps.cend() ? nullptr : it->get();
    }

    void stem(const QString &word, QStringList &out) const
    {
        const QByteArray utf8 = word.toUtf8();
        auto collect = [](void *context, int, const char *token, int length, int, int) {
            auto *list = static_cast<QStringList *>(context);
            const QString stem = QString::fromUtf8(token, length);
            if (stem.size() >= kMinTokenLength && stem.size() <= kMaxTokenLength)
                list->append(stem);
            return SQLITE_OK;
        };
        porter.xTokenize(porterInstance, &out, FTS5_TOKENIZE_DOCUMENT, utf8.constData(),
            int(utf8.size()), collect);
    }

    qint64 frequency(sqlite3_stmt *statement, const QString &term) const
    {
        const QByteArray utf8 = term.toUtf8();
        sqlite3_reset(statement);
        sqlite3_bind_text(statement, 1, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT);
        return sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : 0;
    }

    Scoring scoring(const Map &map, const SearchQuery &query) const
    {
        Scoring s;
        s.k1 = map.k1;
        s.b = map.b;
        s.columns = int(map.fields.size());
        s.perField = !query.boost.isEmpty();
        const qint64 documents = map.documents.size();
        qint64 tokens = 0;
        for (int c = 0; c < s.columns; ++c) {
            tokens += map.fieldTokens[c];
            s.boost.push_back(query.boost.value(map.fields[c], 1.0));
            s.avgdlField.push_back(map.fieldDocuments[c] > 0
                    ? double(map.fieldTokens[c]) / double(map.fieldDocuments[c])
                    : 0);
        }
        s.avgdl = documents > 0 ? double(tokens) / double(documents) : 0;
        for (qsizetype p = 0; p < query.tokens.size(); ++p) {
            const QString &term = query.tokens[p];
            s.repeats.push_back(query.repeats.value(p, 1));
            s.hit.push_back(0);
            s.idf.push_back(
                inverseDocumentFrequency(documents, frequency(map.rowFrequency.get(), term)));
            if (!s.perField)
                continue;
            std::vector<qint64> perColumn(s.columns, 0);
            sqlite3_stmt *statement = map.columnFrequency.get();
            const QByteArray utf8 = term.toUtf8();
            sqlite3_reset(statement);
            sqlite3_bind_text(statement, 1, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT);
            while (sqlite3_step(statement) == SQLITE_ROW) {
                // Columns are named f0, f1, …
                const char *name
                    = reinterpret_cast<const char *>(sqlite3_column_text(statement, 0));
                const int column = name ? std::atoi(name + 1) : -1;
                if (column >= 0 && column < s.columns)
                    perColumn[column] = sqlite3_column_int64(statement, 1);
            }
            for (int c = 0; c < s.columns; ++c) {
                s.idfField.push_back(inverseDocumentFrequency(map.fieldDocuments[c], perColumn[c]));
            }
        }
        return s;
    }

    static QByteArray matchExpression(const SearchQuery &query)
    {
        QStringList phrases;
        for (const QString &token : query.tokens)
            phrases << QLatin1Char('"') + token + QLatin1Char('"');
        return phrases.join(QStringLiteral(" OR ")).toUtf8();
    }

    // Runs the match over the whole map, or over one row; calls found(rowid, score, scoring).
    template <typename Found>
    void match(
        const Map &map, const SearchQuery &query, std::optional<qint64> rowid, Found &&found) const
    {
        if (query.isEmpty() || map.documents.isEmpty())
            return;
        Scoring s = scoring(map, query);
        sqlite3_stmt *raw = rowid ? map.matchOne.get() : map.matchAll.get();
        sqlite3_reset(raw);
        const QByteArray expression = matchExpression(query);
        sqlite3_bind_pointer(raw, 1, &s, kScoringPointer, nullptr);
        sqlite3_bind_text(raw, 2, expression.constData(), int(expression.size()), SQLITE_STATIC);
        if (rowid)
            sqlite3_bind_int64(raw, 3, *rowid);
        int rc = SQLITE_ROW;
        while ((rc = sqlite3_step(raw)) == SQLITE_ROW)
            found(sqlite3_column_int64(raw, 0), sqlite3_column_double(raw, 1), s);
        if (rc != SQLITE_DONE)
            qCWarning(lcSearch).noquote() << "search:" << sqlite3_errmsg(db);
        // Unbound, so no statement keeps pointing at this call's scoring and expression.
        sqlite3_reset(raw);
        sqlite3_clear_bindings(raw);
    }

    static QStringList matched(const SearchQuery &query, const Scoring &s)
    {
        QStringList terms;
        for (size_t p = 0; p < s.hit.size(); ++p) {
            if (s.hit[p])
                terms << query.tokens[qsizetype(p)];
        }
        return terms;
    }

    void erase(Map &map, const QString &key)
    {
        const auto it = map.documents.constFind(key);
        if (it == map.documents.cend())
            return;
        sqlite3_stmt *statement = map.erase.get();
        sqlite3_reset(statement);
        sqlite3_bind_int64(statement, 1, it->rowid);
        if (sqlite3_step(statement) != SQLITE_DONE)
            fail(QStringLiteral("removing %1 from the index of %2").arg(key, map.table));
        forget(map, *it);
        map.keys.remove(it->rowid);
        map.documents.erase(it);
    }

    static void forget(Map &map, const Document &document)
    {
        for (qsizetype f = 0; f < document.lengths.size(); ++f) {
            map.fieldTokens[f] -= document.lengths[f];
            if (document.lengths[f] > 0)
                --map.fieldDocuments[f];
        }
    }

    static void count(Map &map, const Document &document)
    {
        for (qsizetype f = 0; f < document.lengths.size(); ++f) {
            map.fieldTokens[f] += document.lengths[f];
            if (document.lengths[f] > 0)
                ++map.fieldDocuments[f];
        }
    }
};

SearchIndex::SearchIndex()
    : d(std::make_unique<Private>())
{
    d->open();
}

SearchIndex::~SearchIndex() = default;

bool SearchIndex::isOpen() const
{
    return d->porterInstance != nullptr;
}

QString SearchIndex::errorString() const
{
    return d->error;
}

bool SearchIndex::addMap(const QString &mapName, const QStringList &fields, double k1, double b)
{
    if (!isOpen() || fields.isEmpty() || d->maps.contains(mapName))
        return false;
    auto map = std::make_shared<Private::Map>();
    map->table = QStringLiteral("t%1").arg(d->maps.size());
    map->fields = fields;
    map->k1 = k1;
    map->b = b;
    map->fieldDocuments = QList<qint64>(fields.size(), 0);
    map->fieldTokens = QList<qint64>(fields.size(), 0);
    QStringList columns;
    QStringList placeholders;
    QStringList assignments;
    for (qsizetype i = 0; i < fields.size(); ++i) {
        columns << QStringLiteral("f%1").arg(i);
        placeholders << QStringLiteral("?%1").arg(i + 2);
        assignments << QStringLiteral("f%1 = ?%2").arg(i).arg(i + 2);
    }
    const QByteArray table = map->table.toUtf8();
    const QByteArray columnList = columns.join(QStringLiteral(", ")).toUtf8();
    if (!d->exec("CREATE VIRTUAL TABLE " + table + " USING fts5(" + columnList
            + ", tokenize = 'wingman_tokens')")
        || !d->exec("CREATE VIRTUAL TABLE " + table + "_rows USING fts5vocab(" + table + ", 'row')")
        || !d->exec(
            "CREATE VIRTUAL TABLE " + table + "_cols USING fts5vocab(" + table + ", 'col')")) {
        return false;
    }
    map->insert = d->prepare("INSERT INTO " + table + " (rowid, " + columnList + ") VALUES (?1, "
        + placeholders.join(QStringLiteral(", ")).toUtf8() + ")");
    map->update = d->prepare("UPDATE " + table + " SET "
        + assignments.join(QStringLiteral(", ")).toUtf8() + " WHERE rowid = ?1");
    map->erase = d->prepare("DELETE FROM " + table + " WHERE rowid = ?1");
    map->rowFrequency = d->prepare("SELECT doc FROM " + table + "_rows WHERE term = ?1");
    map->columnFrequency = d->prepare("SELECT col, doc FROM " + table + "_cols WHERE term = ?1");
    const QByteArray match = "SELECT rowid, wingman_bm25(" + table + ", ?1) FROM " + table
        + " WHERE " + table + " MATCH ?2";
    map->matchAll = d->prepare(match);
    map->matchOne = d->prepare(match + " AND rowid = ?3");
    if (!map->insert || !map->update || !map->erase || !map->rowFrequency || !map->columnFrequency
        || !map->matchAll || !map->matchOne)
        return false;
    d->maps.insert(mapName, std::move(map));
    return true;
}

bool SearchIndex::hasMap(const QString &mapName) const
{
    return d->find(mapName) != nullptr;
}

QStringList SearchIndex::fields(const QString &mapName) const
{
    const Private::Map *map = d->find(mapName);
    return map ? map->fields : QStringList();
}

QStringList SearchIndex::tokenize(QStringView text) const
{
    QStringList tokens;
    if (!isOpen())
        return tokens;
    const QString lower = text.toString().toLower();
    const QSet<QString> &stop = stopwords();
    qsizetype start = -1;
    const auto endWord = [&](qsizetype end) {
        if (start < 0)
            return;
        const QString word = lower.mid(start, end - start);
        start = -1;
        if (word.size() < kMinTokenLength || stop.contains(word))
            return;
        d->stem(word, tokens);
    };
    for (qsizetype i = 0; i < lower.size();) {
        char32_t codePoint = lower.at(i).unicode();
        qsizetype width = 1;
        if (lower.at(i).isHighSurrogate() && i + 1 < lower.size()
            && lower.at(i + 1).isLowSurrogate()) {
            codePoint = QChar::surrogateToUcs4(lower.at(i), lower.at(i + 1));
            width = 2;
        }
        if (QChar::isLetterOrNumber(codePoint)) {
            if (start < 0)
                start = i;
        } else {
            endWord(i);
        }
        i += width;
    }
    endWord(lower.size());
    return tokens;
}

SearchQuery SearchIndex::prepare(QStringView text, const QMap<QString, double> &boost) const
{
    SearchQuery query;
    query.boost = boost;
    for (const QString &token : tokenize(text)) {
        const qsizetype at = query.tokens.indexOf(token);
        if (at >= 0) {
            ++query.repeats[at];
        } else {
            query.tokens << token;
            query.repeats << 1;
        }
    }
    return query;
}

void SearchIndex::put(const QString &mapName, const QString &key, const QCborValue &value)
{
    Private::Map *map = d->find(mapName);
    if (!map)
        return;
    Private::Document document;
    QList<QByteArray> texts;
    int total = 0;
    const QCborMap fields = value.isMap() ? value.toMap() : QCborMap();
    for (const QString &field : std::as_const(map->fields)) {
        const QCborValue fieldValue = fields.value(field);
        const QStringList tokens
            = fieldValue.isString() ? tokenize(fieldValue.toString()) : QStringList();
        document.lengths << int(tokens.size());
        total += int(tokens.size());
        texts << tokens.join(u' ').toUtf8();
    }
    if (total == 0) {
        d->erase(*map, key);
        return;
    }
    const auto existing = map->documents.find(key);
    sqlite3_stmt *statement
        = existing != map->documents.end() ? map->update.get() : map->insert.get();
    document.rowid = existing != map->documents.end() ? existing->rowid : map->nextRowid++;
    sqlite3_reset(statement);
    sqlite3_bind_int64(statement, 1, document.rowid);
    for (qsizetype i = 0; i < texts.size(); ++i) {
        sqlite3_bind_text(
            statement, int(i + 2), texts[i].constData(), int(texts[i].size()), SQLITE_STATIC);
    }
    if (sqlite3_step(statement) != SQLITE_DONE) {
        d->fail(QStringLiteral("indexing %1 of %2").arg(key, mapName));
        return;
    }
    if (existing != map->documents.end()) {
        Private::forget(*map, *existing);
        *existing = document;
    } else {
        map->documents.insert(key, document);
        map->keys.insert(document.rowid, key);
    }
    Private::count(*map, document);
}

void SearchIndex::remove(const QString &mapName, const QString &key)
{
    if (Private::Map *map = d->find(mapName))
        d->erase(*map, key);
}

bool SearchIndex::contains(const QString &mapName, const QString &key) const
{
    const Private::Map *map = d->find(mapName);
    return map && map->documents.contains(key);
}

qsizetype SearchIndex::documentCount(const QString &mapName) const
{
    const Private::Map *map = d->find(mapName);
    return map ? map->documents.size() : 0;
}

void SearchIndex::beginBatch()
{
    if (d->batchDepth++ == 0)
        d->exec("BEGIN");
}

void SearchIndex::endBatch()
{
    if (d->batchDepth > 0 && --d->batchDepth == 0)
        d->exec("COMMIT");
}

QList<SearchHit> SearchIndex::search(const QString &mapName, const SearchQuery &query) const
{
    QList<SearchHit> hits;
    const Private::Map *map = d->find(mapName);
    if (!map)
        return hits;
    d->match(*map, query, std::nullopt, [&](qint64 rowid, double score, const Scoring &s) {
        if (score > 0)
            hits.append({ map->keys.value(rowid), score, Private::matched(query, s) });
    });
    std::sort(hits.begin(), hits.end(), [](const SearchHit &a, const SearchHit &b) {
        return a.score != b.score ? a.score > b.score : a.key < b.key;
    });
    return hits;
}

std::optional<SearchHit> SearchIndex::score(
    const QString &mapName, const SearchQuery &query, const QString &key) const
{
    const Private::Map *map = d->find(mapName);
    if (!map)
        return std::nullopt;
    const auto document = map->documents.constFind(key);
    if (document == map->documents.cend())
        return std::nullopt;
    std::optional<SearchHit> hit;
    d->match(*map, query, document->rowid, [&](qint64, double score, const Scoring &s) {
        hit = SearchHit { key, score, Private::matched(query, s) };
    });
    return hit;
}

} // namespace wingman::search

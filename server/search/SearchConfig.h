#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace wingman::search {

// The fullTextSearch option: which maps are indexed, on which fields, with which BM25 k1 and b.
// Written as space-separated entries `map:field+field[:k1=<x>][:b=<y>]`, for example
// `articles:title+body notes:text:k1=1.5:b=0.6`.
struct SearchConfig {
    struct IndexedMap {
        QString mapName;
        QStringList fields;
        double k1 = 1.2;
        double b = 0.75;
        friend bool operator==(const IndexedMap &, const IndexedMap &) = default;
    };

    QList<IndexedMap> maps;

    // nullopt and *error (naming the entry; error may be null) when text is not a valid value.
    static std::optional<SearchConfig> parse(const QString &text, QString *error);
};

} // namespace wingman::search

#include "search/SearchConfig.h"

#include <algorithm>

namespace wingman::search {

namespace {

std::optional<double> parameter(QStringView text, QStringView name, double min, double max)
{
    if (!text.startsWith(name) || text.size() <= name.size() || text[name.size()] != u'=')
        return std::nullopt;
    bool ok = false;
    const double value = text.mid(name.size() + 1).toDouble(&ok);
    if (!ok || value < min || value > max)
        return std::nullopt;
    return value;
}

std::optional<SearchConfig::IndexedMap> parseEntry(const QString &entry, QString *error)
{
    const QStringList parts = entry.split(u':');
    SearchConfig::IndexedMap map;
    map.mapName = parts.value(0);
    if (parts.size() < 2 || map.mapName.isEmpty()) {
        *error = QStringLiteral("'%1': expected map:field+field").arg(entry);
        return std::nullopt;
    }
    map.fields = parts[1].split(u'+');
    if (map.fields.contains(QString()) || map.fields.removeDuplicates() > 0) {
        *error = QStringLiteral("'%1': fields must be distinct and non-empty").arg(entry);
        return std::nullopt;
    }
    for (qsizetype i = 2; i < parts.size(); ++i) {
        if (const auto k1 = parameter(parts[i], u"k1", 0, 100)) {
            map.k1 = *k1;
        } else if (const auto b = parameter(parts[i], u"b", 0, 1)) {
            map.b = *b;
        } else {
            *error = QStringLiteral("'%1': expected k1=<0-100> or b=<0-1>, not '%2'")
                         .arg(entry, parts[i]);
            return std::nullopt;
        }
    }
    return map;
}

} // namespace

std::optional<SearchConfig> SearchConfig::parse(const QString &text, QString *error)
{
    QString ignored;
    if (!error)
        error = &ignored;
    SearchConfig config;
    for (const QString &entry : text.simplified().split(u' ', Qt::SkipEmptyParts)) {
        const auto map = parseEntry(entry, error);
        if (!map)
            return std::nullopt;
        const bool repeated = std::any_of(config.maps.cbegin(), config.maps.cend(),
            [&](const IndexedMap &other) { return other.mapName == map->mapName; });
        if (repeated) {
            *error = QStringLiteral("map '%1' is listed twice").arg(map->mapName);
            return std::nullopt;
        }
        config.maps.append(*map);
    }
    return config;
}

} // namespace wingman::search

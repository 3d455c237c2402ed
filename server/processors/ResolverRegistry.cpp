#include "processors/ResolverRegistry.h"

#include "storage/Storage.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace wingman::processors {

namespace {

const QString kMetaKey = QStringLiteral("conflictResolvers");

} // namespace

ResolverRegistry::ResolverRegistry(storage::Storage &storage)
    : m_storage(storage)
{ }

void ResolverRegistry::ensureLoaded()
{
    if (m_loaded)
        return;
    m_loaded = true;
    const QJsonArray stored
        = QJsonDocument::fromJson(m_storage.loadMeta(kMetaKey).toUtf8()).array();
    for (const QJsonValue &item : stored) {
        const QJsonObject object = item.toObject();
        Resolver resolver;
        resolver.mapName = object.value(QLatin1String("mapName")).toString();
        resolver.name = object.value(QLatin1String("name")).toString();
        resolver.code = object.value(QLatin1String("code")).toString();
        resolver.priority = object.value(QLatin1String("priority")).toInt(50);
        if (object.contains(QLatin1String("keyPattern")))
            resolver.keyPattern = object.value(QLatin1String("keyPattern")).toString();
        resolver.userId = object.value(QLatin1String("userId")).toString();
        resolver.order = m_nextOrder++;
        if (resolver.mapName.isEmpty() || resolver.name.isEmpty())
            continue;
        m_byMap[resolver.mapName].append(std::move(resolver));
    }
}

void ResolverRegistry::store()
{
    // Registration order is the order within each map, kept by storing them in it.
    QList<const Resolver *> all;
    for (const QList<Resolver> &list : std::as_const(m_byMap)) {
        for (const Resolver &resolver : list)
            all.append(&resolver);
    }
    std::sort(all.begin(), all.end(),
        [](const Resolver *a, const Resolver *b) { return a->order < b->order; });
    QJsonArray array;
    for (const Resolver *resolver : std::as_const(all)) {
        QJsonObject object { { QLatin1String("mapName"), resolver->mapName },
            { QLatin1String("name"), resolver->name }, { QLatin1String("code"), resolver->code },
            { QLatin1String("priority"), resolver->priority },
            { QLatin1String("userId"), resolver->userId } };
        if (resolver->keyPattern)
            object.insert(QLatin1String("keyPattern"), *resolver->keyPattern);
        array.append(object);
    }
    m_storage.storeMeta(
        kMetaKey, QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Compact)));
}

bool ResolverRegistry::hasAny(const QString &mapName)
{
    ensureLoaded();
    const auto it = m_byMap.constFind(mapName);
    return it != m_byMap.cend() && !it->isEmpty();
}

QList<Resolver> ResolverRegistry::chainFor(const QString &mapName, const QString &key)
{
    QList<Resolver> chain;
    for (const Resolver &resolver : of(mapName)) {
        if (!resolver.keyPattern || matchesKey(*resolver.keyPattern, key))
            chain.append(resolver);
    }
    std::stable_sort(chain.begin(), chain.end(), [](const Resolver &a, const Resolver &b) {
        return a.priority != b.priority ? a.priority > b.priority : a.order < b.order;
    });
    return chain;
}

QList<Resolver> ResolverRegistry::of(const QString &mapName)
{
    ensureLoaded();
    return m_byMap.value(mapName);
}

QStringList ResolverRegistry::maps()
{
    ensureLoaded();
    QStringList names;
    for (auto it = m_byMap.cbegin(); it != m_byMap.cend(); ++it) {
        if (!it->isEmpty())
            names.append(it.key());
    }
    names.sort();
    return names;
}

bool ResolverRegistry::contains(const QString &mapName, const QString &name)
{
    return find(mapName, name).has_value();
}

qsizetype ResolverRegistry::count(const QString &mapName)
{
    ensureLoaded();
    return m_byMap.value(mapName).size();
}

std::optional<Resolver> ResolverRegistry::find(const QString &mapName, const QString &name)
{
    ensureLoaded();
    for (const Resolver &resolver : m_byMap.value(mapName)) {
        if (resolver.name == name)
            return resolver;
    }
    return std::nullopt;
}

void ResolverRegistry::put(Resolver resolver)
{
    ensureLoaded();
    QList<Resolver> &list = m_byMap[resolver.mapName];
    resolver.order = m_nextOrder++;
    const auto same = std::find_if(list.begin(), list.end(),
        [&](const Resolver &existing) { return existing.name == resolver.name; });
    if (same != list.end())
        *same = std::move(resolver);
    else
        list.append(std::move(resolver));
    store();
}

void ResolverRegistry::remove(const QString &mapName, const QString &name)
{
    ensureLoaded();
    const auto it = m_byMap.find(mapName);
    if (it == m_byMap.end())
        return;
    it->removeIf([&](const Resolver &resolver) { return resolver.name == name; });
    if (it->isEmpty())
        m_byMap.erase(it);
    store();
}

bool ResolverRegistry::matchesKey(const QString &pattern, const QString &key)
{
    // Iterative wildcard match with backtracking to the last '*'.
    qsizetype p = 0;
    qsizetype k = 0;
    qsizetype star = -1;
    qsizetype resume = 0;
    while (k < key.size()) {
        if (p < pattern.size() && (pattern.at(p) == u'?' || pattern.at(p) == key.at(k))) {
            ++p;
            ++k;
        } else if (p < pattern.size() && pattern.at(p) == u'*') {
            star = p++;
            resume = k;
        } else if (star >= 0) {
            p = star + 1;
            k = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern.at(p) == u'*')
        ++p;
    return p == pattern.size();
}

} // namespace wingman::processors

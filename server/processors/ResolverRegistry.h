#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace wingman::storage {
class Storage;
}

namespace wingman::processors {

// One registered conflict resolver (docs/protocol.md "Conflict resolvers").
struct Resolver {
    QString mapName;
    QString name;
    QString code;
    int priority = 50;
    std::optional<QString> keyPattern;
    QString userId; // who registered it: they (or an ADMIN) may remove it
    quint64 order = 0; // registration order, for ties in priority
};

// The node's conflict resolvers by map, kept in the storage's metadata so that they outlive
// restarts and the connection that registered them. Loaded from storage on first use (storage
// is open before any client is served).
class ResolverRegistry
{
public:
    static constexpr qsizetype kMaxPerMap = 100;

    explicit ResolverRegistry(storage::Storage &storage);

    bool hasAny(const QString &mapName);
    // The resolvers of mapName whose keyPattern matches key, highest priority first, ties in
    // registration order.
    QList<Resolver> chainFor(const QString &mapName, const QString &key);
    QList<Resolver> of(const QString &mapName);
    QStringList maps();
    bool contains(const QString &mapName, const QString &name);
    qsizetype count(const QString &mapName);
    // Adds, or replaces the resolver of that map with that name; stored at once.
    void put(Resolver resolver);
    std::optional<Resolver> find(const QString &mapName, const QString &name);
    void remove(const QString &mapName, const QString &name);

    // Whole-key match: '*' any run of characters, '?' one character.
    static bool matchesKey(const QString &pattern, const QString &key);

private:
    void ensureLoaded();
    void store();

    storage::Storage &m_storage;
    bool m_loaded = false;
    QHash<QString, QList<Resolver>> m_byMap;
    quint64 m_nextOrder = 1;
};

} // namespace wingman::processors

#pragma once

#include "crdt/Hlc.h"
#include "crdt/NodeIdPool.h"
#include "crdt/OrMapMerkleTree.h"
#include "crdt/OrRecord.h"

#include <QCborValue>
#include <QHash>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>
#include <functional>
#include <optional>

namespace wingman::crdt {

// Observed-remove map (docs/core.md "OR map"): each key holds a set of tagged records; removing a
// value tombstones the tags observed for it, so a concurrent add (new tag) survives. Tombstones
// are map-wide tags. The OrMapMerkleTree is kept current on every change. Local adds are stamped
// by the node's Hlc, which must outlive the map. Not thread-safe.
class OrMap
{
public:
    struct MergeResult {
        int added = 0; // records new to this map
        int updated = 0; // records replaced by a newer one with the same tag
        int removed = 0; // local records dropped by incoming tombstones
        bool changed() const { return added + updated + removed > 0; }
    };

    // Called once for each key whose records changed.
    using ChangeListener = std::function<void(const QString &key)>;

    explicit OrMap(Hlc &hlc);

    // Stores value under a new tag: hlc().now() in string form.
    OrRecord add(
        const QString &key, const QCborValue &value, std::optional<qint64> ttlMs = std::nullopt);
    // Tombstones every stored record of key whose value equals value (numbers compare by value,
    // as JavaScript's ===; other values structurally). Returns the tombstoned tags.
    QStringList remove(const QString &key, const QCborValue &value);
    // Stores a remote record unless its tag is tombstoned (or the clock rejects its timestamp).
    bool apply(const QString &key, const OrRecord &record);
    // Adds tag to the tombstones, dropping the record that carries it; returns whether one did.
    bool applyTombstone(const QString &tag);
    // State union: tombstones, then records not tombstoned, then local records now tombstoned
    // are dropped.
    MergeResult merge(const OrMap &other);
    // One key's share of a merge, as a Merkle sync delivers it. A record whose tag is already
    // held replaces it only with a strictly newer timestamp.
    MergeResult mergeKey(
        const QString &key, const QList<OrRecord> &records, const QStringList &tombstones = {});

    // Values of key's live records (not past their TTL on hlc()'s clock), sorted by tag.
    QList<QCborValue> get(const QString &key) const;
    // get(key) as one array, the form live queries match and change events carry; nullopt when
    // key has no live record.
    std::optional<QCborValue> liveValue(const QString &key) const;
    // key's live records, sorted by tag.
    QList<OrRecord> getRecords(const QString &key) const;
    // Every record stored under key, expired ones included (what the Merkle entry hashes).
    QList<OrRecord> records(const QString &key) const { return m_items.value(key).records; }
    QStringList tombstones() const;
    bool isTombstoned(const QString &tag) const { return m_tombstones.contains(tag); }

    // Drops tombstone tags whose timestamp is below olderThan (unparsable tags are kept);
    // returns them, sorted.
    QStringList prune(const Timestamp &olderThan);

    struct Expiry {
        QString key;
        QString tag;
    };
    // Tombstones the tag of every record past its TTL on nowMillis, as the server's GC expires
    // OR records (docs/core.md "OR map"); returns them sorted by key, then tag. With mayExpire,
    // only the records of the keys it accepts.
    QList<Expiry> expire(
        qint64 nowMillis, const std::function<bool(const QString &key)> &mayExpire = {});
    // Drops every record whose timestamp is below olderThan without tombstoning its tag (a node
    // that missed a cluster GC horizon); returns them sorted by key, then tag. Tombstones stay:
    // prune() takes those.
    QList<Expiry> discardOlderThan(const Timestamp &olderThan);

    void clear();

    QStringList keys() const { return m_items.keys(); }
    // Keys that hold at least one record.
    qsizetype size() const { return m_items.size(); }
    qsizetype totalRecords() const { return m_tagKeys.size(); }

    const OrMapMerkleTree &merkleTree() const { return m_tree; }
    Hlc &hlc() const { return *m_hlc; }
    void setChangeListener(ChangeListener listener) { m_listener = std::move(listener); }

private:
    enum class Stored { Added, Replaced, Kept };

    // A key's records sorted by tag, each with its record string: the entry hash is then a pass
    // over text instead of a stringify of every value on each change.
    struct KeyRecords {
        QList<OrRecord> records;
        QStringList strings;
    };

    // Inserts record under key, or replaces the one with its tag (with replaceOnlyIfNewer only
    // by a strictly newer timestamp); keeps the list sorted by tag.
    Stored store(const QString &key, const OrRecord &record, bool replaceOnlyIfNewer);
    // Removes the record carrying tag, wherever it is; returns its key if there was one.
    std::optional<QString> dropTag(const QString &tag);
    void refresh(const QString &key);

    Hlc *m_hlc;
    QHash<QString, KeyRecords> m_items;
    QSet<QString> m_tombstones;
    QHash<QString, QString> m_tagKeys; // tag -> key of every stored record
    NodeIdPool m_nodeIds;
    OrMapMerkleTree m_tree;
    ChangeListener m_listener;
};

} // namespace wingman::crdt

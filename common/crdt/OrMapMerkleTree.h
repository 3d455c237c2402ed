#pragma once

#include "crdt/MerkleTree.h"
#include "crdt/OrRecord.h"

#include <QList>
#include <QString>

namespace wingman::crdt {

// The OR-map's Merkle tree: MerkleTree's depth-3 hex layout with hash(key) as the path and the
// key's entry hash as its leaf entry (docs/core.md "OR map"). Records a key holds past their TTL
// are still hashed: expiry depends on the reader's clock, the hash must not.
class OrMapMerkleTree : public MerkleTree
{
public:
    using MerkleTree::update;

    // Sets key's entry from its records (any order); a key without records leaves the tree.
    void update(const QString &key, const QList<OrRecord> &records);

    // hash("key:" + key + "|" + recordString(r1) + "|" + ...), records sorted by tag.
    static quint32 entryHash(QStringView key, const QList<OrRecord> &records);
    // The same from record strings already in tag order, which a map can keep instead of
    // stringifying every value of a key on each change.
    static quint32 entryHash(QStringView key, const QStringList &recordStrings);
    static quint32 recordHash(const OrRecord &record);
    // tag + ":" + stringify(value) + ":" + timestamp [+ ":ttl=" + ttlMs]
    static QString recordString(const OrRecord &record);
};

} // namespace wingman::crdt

#include "crdt/OrMapMerkleTree.h"

#include "crdt/Hash.h"
#include "crdt/JsStringify.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace wingman::crdt {

namespace {

void appendRecordString(QString &out, const OrRecord &record)
{
    out += record.tag;
    out += u':';
    JsStringify::appendStringify(out, record.value.toCbor());
    out += u':';
    out += QString::number(record.timestamp.millis);
    out += u':';
    out += QString::number(record.timestamp.counter);
    out += u':';
    out += record.timestamp.nodeId;
    if (record.ttlMs) {
        out += QLatin1StringView(":ttl=");
        out += QString::number(*record.ttlMs);
    }
}

} // namespace

void OrMapMerkleTree::update(const QString &key, const QList<OrRecord> &records)
{
    if (records.isEmpty())
        remove(key);
    else
        update(key, entryHash(key, records));
}

quint32 OrMapMerkleTree::entryHash(QStringView key, const QList<OrRecord> &records)
{
    // JavaScript's default sort orders tags by UTF-16 code units, as QString's operator< does.
    std::vector<qsizetype> order(size_t(records.size()));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
        [&](qsizetype a, qsizetype b) { return records[a].tag < records[b].tag; });

    Hash hash;
    hash.add(QLatin1StringView("key:")).add(key);
    QString recordText;
    for (const qsizetype index : order) {
        recordText.clear();
        appendRecordString(recordText, records[index]);
        hash.add(u'|').add(recordText);
    }
    return hash.value();
}

quint32 OrMapMerkleTree::entryHash(QStringView key, const QStringList &recordStrings)
{
    Hash hash;
    hash.add(QLatin1StringView("key:")).add(key);
    for (const QString &recordString : recordStrings)
        hash.add(u'|').add(recordString);
    return hash.value();
}

quint32 OrMapMerkleTree::recordHash(const OrRecord &record)
{
    return Hash::of(recordString(record));
}

QString OrMapMerkleTree::recordString(const OrRecord &record)
{
    QString text;
    appendRecordString(text, record);
    return text;
}

} // namespace wingman::crdt

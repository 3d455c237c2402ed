#include "storage/GroupRows.h"

#include "storage/SqlStorage.h"

namespace wingman::storage {

template <typename Row>
Row &GroupRows::rowFor(std::vector<Row> &rows, QHash<std::pair<QString, QString>, qsizetype> &index,
    const QString &mapName, const QString &id)
{
    // Slots hold the row's index plus one, so that a fresh slot (0) reads as "no row yet".
    qsizetype &slot = index[std::pair(mapName, id)];
    if (slot == 0) {
        rows.emplace_back();
        rows.back().mapName = mapName;
        rows.back().id = id;
        slot = qsizetype(rows.size());
    }
    return rows[size_t(slot - 1)];
}

void GroupRows::add(const QList<StorageWrite> &writes)
{
    using Kind = StorageWrite::Kind;
    for (const StorageWrite &write : writes) {
        switch (write.kind) {
        case Kind::LwwPut: {
            RecordRow &row = rowFor(m_lww, m_lwwIndex, write.mapName, write.key);
            row.timestamp = write.lww.timestamp;
            row.ttlMs = write.lww.ttlMs;
            row.value = SqlStorage::encodeValue(write.lww.value);
            row.remove = false;
            break;
        }
        case Kind::LwwDelete:
            rowFor(m_lww, m_lwwIndex, write.mapName, write.key).remove = true;
            break;
        case Kind::OrPut: {
            RecordRow &row = rowFor(m_or, m_orIndex, write.mapName, write.orRecord.tag);
            row.key = write.key;
            row.timestamp = write.orRecord.timestamp;
            row.ttlMs = write.orRecord.ttlMs;
            row.value = SqlStorage::encodeValue(write.orRecord.value);
            row.remove = false;
            break;
        }
        case Kind::OrTombstone:
            rowFor(m_or, m_orIndex, write.mapName, write.tag).remove = true;
            rowFor(m_tombstones, m_tombstoneIndex, write.mapName, write.tag).remove = false;
            break;
        case Kind::OrDeleteTombstone:
            rowFor(m_tombstones, m_tombstoneIndex, write.mapName, write.tag).remove = true;
            break;
        case Kind::JournalAppend:
            m_journal.push_back(&write.journal);
            break;
        case Kind::JournalTrim:
            m_journalTrim = std::max(m_journalTrim, write.journal.sequence);
            break;
        }
    }
}

void GroupRows::addMeta(const GroupWriter::Meta &meta)
{
    for (const auto &[name, value] : meta)
        m_meta.insert(name, value);
}

void GroupRows::clear()
{
    m_lww.clear();
    m_or.clear();
    m_tombstones.clear();
    m_lwwIndex.clear();
    m_orIndex.clear();
    m_tombstoneIndex.clear();
    m_meta.clear();
    m_journal.clear();
    m_journalTrim = -1;
}

} // namespace wingman::storage

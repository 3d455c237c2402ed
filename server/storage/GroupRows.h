#pragma once

#include "storage/GroupWriter.h"

#include <QByteArray>
#include <QHash>
#include <optional>
#include <utility>
#include <vector>

namespace wingman::storage {

// A group of writes reduced to the final state of each row it touches (later writes win, as
// they would one by one), for writers that send many rows per statement: each statement is a
// round trip to a database server, and PostgreSQL refuses a statement that upserts one row twice.
class GroupRows
{
public:
    // A row of wingman_lww or wingman_or, or (remove) its deletion.
    struct RecordRow {
        QString mapName;
        QString id; // wingman_lww: the key; wingman_or: the tag
        QString key;
        crdt::Timestamp timestamp;
        std::optional<qint64> ttlMs;
        QByteArray value;
        bool remove = false;
    };
    struct TombstoneRow {
        QString mapName;
        QString id; // the tag
        bool remove = false;
    };

    void add(const QList<StorageWrite> &writes);
    void addMeta(const GroupWriter::Meta &meta);
    void clear();

    const std::vector<RecordRow> &lww() const { return m_lww; }
    const std::vector<RecordRow> &orRecords() const { return m_or; }
    const std::vector<TombstoneRow> &tombstones() const { return m_tombstones; }
    const QHash<QString, QString> &meta() const { return m_meta; }
    // Appended in submission order; they point into the writes given to add().
    const std::vector<const StorageWrite::JournalEntry *> &journal() const { return m_journal; }
    // Drop the journal's entries before this sequence; -1: none. Applies after the appends, so
    // it never reaches an entry appended in the same group.
    qint64 journalTrim() const { return m_journalTrim; }

private:
    template <typename Row>
    static Row &rowFor(std::vector<Row> &rows, QHash<std::pair<QString, QString>, qsizetype> &index,
        const QString &mapName, const QString &id);

    std::vector<RecordRow> m_lww;
    std::vector<RecordRow> m_or;
    std::vector<TombstoneRow> m_tombstones;
    QHash<std::pair<QString, QString>, qsizetype> m_lwwIndex;
    QHash<std::pair<QString, QString>, qsizetype> m_orIndex;
    QHash<std::pair<QString, QString>, qsizetype> m_tombstoneIndex;
    QHash<QString, QString> m_meta;
    std::vector<const StorageWrite::JournalEntry *> m_journal;
    qint64 m_journalTrim = -1;
};

} // namespace wingman::storage

#include "crdt/MerkleTree.h"

#include <algorithm>

namespace wingman::crdt {

namespace {

// Node index at each level: the first 1, 2 or 3 hex digits of the key hash.
constexpr quint32 level1Index(quint32 keyHash)
{
    return keyHash >> 28;
}
constexpr quint32 level2Index(quint32 keyHash)
{
    return keyHash >> 24;
}
constexpr quint32 leafIndex(quint32 keyHash)
{
    return keyHash >> 20;
}

constexpr quint32 kOccupied = 0x80000000u;
constexpr quint32 kTagHashMask = 0x7fffffffu;
constexpr quint32 kInitialLeafCapacity = 4;

quint32 tagOf(const QString &key)
{
    return kOccupied | (quint32(qHash(QStringView(key), QHashSeed::globalSeed())) & kTagHashMask);
}

// Maps the tag's hash bits onto [0, capacity) without a division.
quint32 homeSlot(quint32 tag, quint32 capacity)
{
    return quint32((quint64(tag & kTagHashMask) * capacity) >> 31);
}

bool sameKey(const QString &a, const QString &b)
{
    // A key handed back to the tree often shares the stored buffer: no characters to compare.
    return a.size() == b.size()
        && (a.constData() == b.constData() || QStringView(a) == QStringView(b));
}

int hexValue(char16_t c)
{
    if (c >= u'0' && c <= u'9')
        return c - u'0';
    if (c >= u'a' && c <= u'f')
        return c - u'a' + 10;
    return -1;
}

QString hexDigit(quint32 value)
{
    return QString(QChar(u"0123456789abcdef"[value & 0xf]));
}

} // namespace

MerkleTree::MerkleTree() = default;
MerkleTree::~MerkleTree() = default;
MerkleTree::MerkleTree(MerkleTree &&) noexcept = default;
MerkleTree &MerkleTree::operator=(MerkleTree &&) noexcept = default;

void MerkleTree::update(const QString &key, quint32 keyHash, quint32 itemHash)
{
    setItemHash(entryFor(key, keyHash), keyHash, itemHash);
}

void MerkleTree::update(const QString &key, quint32 keyHash, quint32 itemHash, quint32 value)
{
    LeafEntry &entry = entryFor(key, keyHash);
    entry.value = value;
    setItemHash(entry, keyHash, itemHash);
}

bool MerkleTree::remove(const QString &key, quint32 keyHash)
{
    if (!m_nodes)
        return false;
    LeafGroup *group = m_nodes->groups[level2Index(keyHash)].get();
    if (!group)
        return false;
    LeafTable &table = group->tables[leafIndex(keyHash) & 0xf];
    if (table.size == 0)
        return false;
    const quint32 slot = findSlot(table, key, tagOf(key));
    if (table.entries[slot].tag == 0)
        return false;
    const quint32 delta = 0u - table.entries[slot].itemHash;
    eraseSlot(table, slot);
    --m_size;
    addDelta(keyHash, delta);
    return true;
}

MerkleTree::LeafEntry &MerkleTree::entryFor(const QString &key, quint32 keyHash)
{
    if (!m_nodes)
        m_nodes = std::make_unique<Nodes>();
    std::unique_ptr<LeafGroup> &group = m_nodes->groups[level2Index(keyHash)];
    if (!group)
        group = std::make_unique<LeafGroup>();
    const quint32 leaf = leafIndex(keyHash) & 0xf;
    LeafTable &table = group->tables[leaf];
    m_nodes->level1Exists.set(level1Index(keyHash));
    group->exists |= quint16(1u << leaf);

    // Grow first so that the slot found stays valid; the load stays at most 85 %.
    if ((table.size + 1) * 20 > table.capacity * 17)
        grow(table);
    const quint32 tag = tagOf(key);
    LeafEntry &entry = table.entries[findSlot(table, key, tag)];
    if (entry.tag == 0) {
        entry.key = key;
        entry.tag = tag;
        ++table.size;
        ++m_size;
    }
    return entry;
}

const MerkleTree::LeafEntry *MerkleTree::find(const QString &key, quint32 keyHash) const
{
    const LeafTable *table = leafTable(leafIndex(keyHash));
    if (!table || table->size == 0)
        return nullptr;
    const LeafEntry &entry = table->entries[findSlot(*table, key, tagOf(key))];
    return entry.tag != 0 ? &entry : nullptr;
}

void MerkleTree::setItemHash(LeafEntry &entry, quint32 keyHash, quint32 itemHash)
{
    const quint32 delta = itemHash - entry.itemHash;
    entry.itemHash = itemHash;
    addDelta(keyHash, delta);
}

quint32 MerkleTree::findSlot(const LeafTable &table, const QString &key, quint32 tag)
{
    quint32 slot = homeSlot(tag, table.capacity);
    for (;;) {
        const LeafEntry &entry = table.entries[slot];
        if (entry.tag == 0 || (entry.tag == tag && sameKey(entry.key, key)))
            return slot;
        if (++slot == table.capacity)
            slot = 0;
    }
}

void MerkleTree::grow(LeafTable &table)
{
    // Growing by a quarter keeps a large leaf between 68 % and 85 % full: small steps leave
    // little room unused, and the blocks freed are close in size to the ones asked for next.
    resize(table, table.capacity == 0 ? kInitialLeafCapacity : table.capacity + table.capacity / 4);
}

void MerkleTree::reserve(const std::vector<quint32> &keyHashes)
{
    if (keyHashes.empty())
        return;
    if (!m_nodes)
        m_nodes = std::make_unique<Nodes>();
    std::vector<quint32> counts(size_t(1) << (4 * kDepth), 0);
    for (const quint32 keyHash : keyHashes)
        ++counts[leafIndex(keyHash)];
    for (quint32 leaf = 0; leaf < counts.size(); ++leaf) {
        if (counts[leaf] == 0)
            continue;
        std::unique_ptr<LeafGroup> &group = m_nodes->groups[leaf >> 4];
        if (!group)
            group = std::make_unique<LeafGroup>();
        LeafTable &table = group->tables[leaf & 0xf];
        const quint64 wanted = (quint64(table.size) + counts[leaf]) * 20 / 17 + 1;
        if (wanted > table.capacity)
            resize(table, quint32(wanted));
    }
}

void MerkleTree::resize(LeafTable &table, quint32 capacity)
{
    auto entries = std::make_unique<LeafEntry[]>(capacity);
    for (quint32 i = 0; i < table.capacity; ++i) {
        LeafEntry &entry = table.entries[i];
        if (entry.tag == 0)
            continue;
        quint32 slot = homeSlot(entry.tag, capacity);
        while (entries[slot].tag != 0) {
            if (++slot == capacity)
                slot = 0;
        }
        entries[slot] = std::move(entry);
    }
    table.entries = std::move(entries);
    table.capacity = capacity;
}

void MerkleTree::eraseSlot(LeafTable &table, quint32 slot)
{
    // Backward-shift deletion: pull later entries of the probe run into the hole, unless that
    // would put one before its home slot.
    quint32 hole = slot;
    quint32 next = slot;
    for (;;) {
        if (++next == table.capacity)
            next = 0;
        LeafEntry &entry = table.entries[next];
        if (entry.tag == 0)
            break;
        const quint32 home = homeSlot(entry.tag, table.capacity);
        const bool homeBetween
            = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
        if (homeBetween)
            continue;
        table.entries[hole] = std::move(entry);
        hole = next;
    }
    table.entries[hole] = LeafEntry();
    --table.size;
}

void MerkleTree::addDelta(quint32 keyHash, quint32 delta)
{
    // Unsigned arithmetic wraps, so adding the difference equals re-summing mod 2^32.
    m_nodes->groups[level2Index(keyHash)]->hashes[leafIndex(keyHash) & 0xf] += delta;
    m_nodes->level2[level2Index(keyHash)] += delta;
    m_nodes->level1[level1Index(keyHash)] += delta;
    m_rootHash += delta;
}

std::optional<std::pair<int, quint32>> MerkleTree::parsePath(QStringView path)
{
    if (path.size() > kDepth)
        return std::nullopt;
    quint32 index = 0;
    for (const QChar c : path) {
        const int digit = hexValue(c.unicode());
        if (digit < 0)
            return std::nullopt;
        index = (index << 4) | quint32(digit);
    }
    return std::pair { int(path.size()), index };
}

bool MerkleTree::exists(int level, quint32 index) const
{
    if (level == 0)
        return true;
    if (!m_nodes)
        return false;
    switch (level) {
    case 1:
        return m_nodes->level1Exists.test(index);
    case 2:
        return m_nodes->groups[index] != nullptr;
    default: {
        const LeafGroup *group = m_nodes->groups[index >> 4].get();
        return group && (group->exists & (1u << (index & 0xf)));
    }
    }
}

const MerkleTree::LeafTable *MerkleTree::leafTable(quint32 leafIndex) const
{
    if (!m_nodes)
        return nullptr;
    const LeafGroup *group = m_nodes->groups[leafIndex >> 4].get();
    return group ? &group->tables[leafIndex & 0xf] : nullptr;
}

std::optional<quint32> MerkleTree::nodeHash(QStringView path) const
{
    const auto node = parsePath(path);
    if (!node || !exists(node->first, node->second))
        return std::nullopt;
    switch (node->first) {
    case 0:
        return m_rootHash;
    case 1:
        return m_nodes->level1[node->second];
    case 2:
        return m_nodes->level2[node->second];
    default:
        return m_nodes->groups[node->second >> 4]->hashes[node->second & 0xf];
    }
}

QMap<QString, quint32> MerkleTree::buckets(QStringView path) const
{
    QMap<QString, quint32> result;
    const auto node = parsePath(path);
    if (!node || node->first >= kDepth || !exists(node->first, node->second))
        return result;
    for (quint32 digit = 0; digit < 16; ++digit) {
        const quint32 child = (node->second << 4) | digit;
        if (!exists(node->first + 1, child))
            continue;
        switch (node->first) {
        case 0:
            result.insert(hexDigit(digit), m_nodes->level1[child]);
            break;
        case 1:
            result.insert(hexDigit(digit), m_nodes->level2[child]);
            break;
        default:
            result.insert(hexDigit(digit), m_nodes->groups[node->second]->hashes[digit]);
            break;
        }
    }
    return result;
}

QStringList MerkleTree::keysInBucket(QStringView path) const
{
    QStringList keys;
    const auto node = parsePath(path);
    const LeafTable *table = node && node->first == kDepth ? leafTable(node->second) : nullptr;
    if (!table)
        return keys;
    keys.reserve(table->size);
    for (quint32 i = 0; i < table->capacity; ++i) {
        if (table->entries[i].tag != 0)
            keys.append(table->entries[i].key);
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

QHash<QString, quint32> MerkleTree::entryHashes(QStringView path) const
{
    QHash<QString, quint32> entries;
    const auto node = parsePath(path);
    const LeafTable *table = node && node->first == kDepth ? leafTable(node->second) : nullptr;
    if (!table)
        return entries;
    entries.reserve(table->size);
    for (quint32 i = 0; i < table->capacity; ++i) {
        if (table->entries[i].tag != 0)
            entries.insert(table->entries[i].key, table->entries[i].itemHash);
    }
    return entries;
}

std::optional<quint32> MerkleTree::entryHash(const QString &key) const
{
    const LeafEntry *entry = find(key, hash(key));
    return entry ? std::optional(entry->itemHash) : std::nullopt;
}

std::optional<quint32> MerkleTree::value(const QString &key, quint32 keyHash) const
{
    const LeafEntry *entry = find(key, keyHash);
    return entry ? std::optional(entry->value) : std::nullopt;
}

void MerkleTree::clear()
{
    m_nodes.reset();
    m_rootHash = 0;
    m_size = 0;
}

quint32 MerkleTree::itemHash(QStringView key, qint64 millis, qint32 counter, QStringView nodeId)
{
    return Hash()
        .add(key)
        .add(u':')
        .addDecimal(millis)
        .add(u':')
        .addDecimal(counter)
        .add(u':')
        .add(nodeId)
        .value();
}

} // namespace wingman::crdt

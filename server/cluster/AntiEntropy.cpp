#include "cluster/AntiEntropy.h"

#include "cluster/ClusterModule.h"
#include "cluster/PeerBus.h"
#include "cluster/Replicator.h"
#include "maps/MapRegistry.h"
#include "ops/ChangeApplier.h"
#include "protocol/Records.h"
#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

#include <QCborArray>

namespace wingman::cluster {

namespace {

const QLatin1StringView kRoots("MERKLE_ROOTS");
const QLatin1StringView kBuckets("MERKLE_BUCKETS");
const QLatin1StringView kRecords("RECORDS");
const QLatin1StringView kCounters("COUNTERS");

QString field(const char *name)
{
    return QString::fromLatin1(name);
}

QCborArray entriesArray(const PartitionDigest::Entries &entries, qsizetype from, qsizetype to)
{
    QCborArray array;
    for (qsizetype i = from; i < to; ++i)
        array.append(QCborArray { entries[i].first, qint64(entries[i].second) });
    return array;
}

void readEntries(const QCborValue &value, PartitionDigest::Entries &into)
{
    for (const QCborValue &entry : value.toArray()) {
        const QCborArray pair = entry.toArray();
        if (pair.size() == 2 && pair[0].isString())
            into.append({ pair[0].toString(), quint32(pair[1].toInteger()) });
    }
}

} // namespace

AntiEntropy::AntiEntropy(PeerBus &bus, maps::MapRegistry &maps, ops::ChangeApplier &applier,
    Replicator *replicator, Options options, QObject *parent)
    : QObject(parent)
    , m_bus(bus)
    , m_maps(maps)
    , m_applier(applier)
    , m_replicator(replicator)
    , m_options(std::move(options))
{
    connect(&bus, &PeerBus::frameReceived, this, &AntiEntropy::onFrame);
    connect(&bus, &PeerBus::linkUp, this, &AntiEntropy::onLinkUp);
    connect(&bus, &PeerBus::linkDown, this, &AntiEntropy::onLinkDown);
    if (replicator) {
        connect(replicator, &Replicator::hintQueueDropped, this, [this](const QString &peer) {
            m_dropped.insert(peer);
            startRound(peer);
        });
    }
    connect(&m_timer, &QTimer::timeout, this, &AntiEntropy::tick);
    m_timer.start(m_options.intervalMs);
}

void AntiEntropy::onLinkUp(const QString &peer)
{
    const bool joining = m_options.isJoining && m_options.isJoining();
    if (m_bus.localNodeId() < peer || joining || m_dropped.contains(peer))
        startRound(peer);
}

void AntiEntropy::onLinkDown(const QString &peer)
{
    if (m_rounds.contains(peer))
        finish(peer, QStringLiteral("failed"));
}

void AntiEntropy::tick()
{
    const QString self = m_bus.localNodeId();
    for (const QString &peer : m_bus.replicaPeers()) {
        const auto round = m_rounds.constFind(peer);
        if (round != m_rounds.cend()) {
            // A round still running covers this period; only one that hangs is given up.
            if (round->clock.elapsed() <= m_options.roundTimeoutMs)
                continue;
            qCWarning(lcCluster).noquote() << "anti-entropy round with" << peer << "timed out";
            finish(peer, QStringLiteral("failed"));
        }
        if (self < peer || m_dropped.contains(peer))
            startRound(peer);
    }
}

void AntiEntropy::startRound(const QString &peer)
{
    if (const auto running = m_rounds.find(peer); running != m_rounds.end()) {
        running->again = true;
        return;
    }
    // A link is enough: right after a heal the member may still read as down for a moment.
    const quint64 id = m_nextRound++;
    if (!send(peer, rootsFrame(id, false)))
        return;
    Round &round = m_rounds[peer];
    round.id = id;
    round.clock.start();
    round.coversDrop = m_dropped.remove(peer);
    round.awaiting = 1;
}

void AntiEntropy::finish(const QString &peer, const QString &result)
{
    const Round round = m_rounds.take(peer);
    PeerCounters &counters = m_counters[peer];
    ++counters.rounds[result];
    counters.lastDurationMs = double(round.clock.nsecsElapsed()) / 1e6;
    const bool ok = result != QLatin1StringView("failed");
    if (round.coversDrop) {
        if (ok && m_replicator)
            m_replicator->clearOverflow(peer);
        else if (!ok)
            m_dropped.insert(peer);
    }
    if (result != QLatin1StringView("equal")) {
        qCInfo(lcCluster).noquote() << "anti-entropy round" << round.id << "with" << peer << result
                                    << "in" << qint64(counters.lastDurationMs) << "ms";
    }
    if (ok && m_options.isJoining && m_options.isJoining() && m_options.endJoining)
        m_options.endJoining();
    Q_EMIT roundFinished(peer, result, qint64(counters.lastDurationMs));
    if (round.again)
        startRound(peer);
}

bool AntiEntropy::send(const QString &peer, const QCborMap &frame)
{
    return m_bus.send(peer, wire::MsgPackCodec::encode(frame));
}

const crdt::MerkleTree *AntiEntropy::treeOf(const QString &mapName) const
{
    if (const crdt::LwwMap *map = m_maps.findLww(mapName))
        return &map->merkleTree();
    if (const crdt::OrMap *map = m_maps.findOr(mapName))
        return &map->merkleTree();
    return nullptr;
}

QCborMap AntiEntropy::rootsFrame(quint64 round, bool reply) const
{
    QCborArray maps;
    for (const QString &name : m_maps.mapNames()) {
        const crdt::MerkleTree *tree = treeOf(name);
        if (!tree)
            continue;
        const bool lww = m_maps.kindOf(name) == maps::MapRegistry::Kind::Lww;
        maps.append(QCborMap { { field("mapName"), name },
            { field("kind"), lww ? QStringLiteral("lww") : QStringLiteral("or") },
            { field("root"), qint64(tree->rootHash()) }, { field("count"), tree->size() } });
    }
    QCborMap frame { { field("type"), kRoots }, { field("round"), qint64(round) },
        { field("reply"), reply }, { field("maps"), maps } };
    if (m_pnCounters.digests) {
        QCborMap counters;
        const QHash<QString, quint32> digests = m_pnCounters.digests();
        for (auto it = digests.cbegin(); it != digests.cend(); ++it)
            counters.insert(it.key(), qint64(it.value()));
        frame.insert(field("counters"), counters);
    }
    return frame;
}

void AntiEntropy::onFrame(const QString &peer, const QString &type, const QByteArray &body)
{
    if (type != kRoots && type != kBuckets && type != kRecords && type != kCounters)
        return;
    const wire::DecodeResult decoded = wire::MsgPackCodec::decode(body);
    if (!decoded.ok || !decoded.value.isMap()) {
        qCWarning(lcCluster).noquote() << "undecodable" << type << "from" << peer;
        return;
    }
    const QCborMap frame = decoded.value.toMap();
    if (!frame.value(field("reply")).toBool()) {
        if (type == kRoots)
            answerRoots(peer, frame);
        else if (type == kBuckets)
            answerBuckets(peer, frame);
        else if (type == kRecords)
            answerRecords(peer, frame);
        else
            answerCounters(peer, frame);
        return;
    }
    const auto it = m_rounds.find(peer);
    if (it == m_rounds.end() || it->id != quint64(frame.value(field("round")).toInteger()))
        return; // a failed round's late reply
    if (type == kRoots) {
        onRoots(peer, *it, frame);
    } else if (type == kBuckets) {
        onBuckets(peer, *it, frame);
    } else if (type == kRecords) {
        onRecords(peer, *it, frame);
    } else {
        mergeCounters(frame);
        replied(peer, *it, true);
    }
}

void AntiEntropy::replied(const QString &peer, Round &round, bool last)
{
    if (last && --round.awaiting <= 0)
        finish(peer, round.walked ? QStringLiteral("repaired") : QStringLiteral("equal"));
}

// --- Responder ---------------------------------------------------------------------------------

void AntiEntropy::answerRoots(const QString &peer, const QCborMap &frame)
{
    send(peer, rootsFrame(quint64(frame.value(field("round")).toInteger()), true));
}

void AntiEntropy::answerBuckets(const QString &peer, const QCborMap &frame)
{
    const qint64 round = frame.value(field("round")).toInteger();
    const QString mapName = frame.value(field("mapName")).toString();
    const qint64 level = frame.value(field("level")).toInteger();
    const crdt::MerkleTree *tree = treeOf(mapName);
    QCborMap reply { { field("type"), kBuckets }, { field("round"), round },
        { field("reply"), true }, { field("mapName"), mapName }, { field("level"), level } };
    PartitionDigest::Entries entries;
    if (level == 0) {
        const PartitionDigest digest = tree ? PartitionDigest::ofTree(*tree) : PartitionDigest();
        QCborArray sums;
        for (const quint32 sum : digest.partitionSums())
            sums.append(qint64(sum));
        reply.insert(field("sums"), sums);
    } else if (level == 1) {
        const PartitionDigest digest = tree ? PartitionDigest::ofTree(*tree) : PartitionDigest();
        QSet<int> whole;
        QCborArray leafSums;
        QCborArray wholeIds;
        for (const QCborValue &id : frame.value(field("ids")).toArray()) {
            const int partition = int(id.toInteger());
            if (partition < 0 || partition >= PartitionDigest::kPartitions)
                continue;
            if (digest.partitionCount(partition) <= m_options.smallPartition) {
                whole.insert(partition);
                wholeIds.append(partition);
                continue;
            }
            QCborArray sums;
            for (const quint32 sum : digest.leafSums(partition))
                sums.append(qint64(sum));
            leafSums.append(QCborArray { partition, sums });
        }
        reply.insert(field("whole"), wholeIds);
        reply.insert(field("leafSums"), leafSums);
        if (tree && !whole.isEmpty())
            entries = PartitionDigest::select(*tree, whole, {});
    } else {
        QSet<int> leaves;
        for (const QCborValue &id : frame.value(field("ids")).toArray())
            leaves.insert(int(id.toInteger()));
        if (tree)
            entries = PartitionDigest::select(*tree, {}, leaves);
    }
    // Entries are ~20 bytes plus the key: chunk so each frame stays near maxChunkBytes.
    qsizetype from = 0;
    do {
        qsizetype bytes = 0;
        qsizetype to = from;
        while (to < entries.size() && bytes < m_options.maxChunkBytes)
            bytes += entries[to++].first.size() * 3 + 12;
        reply.insert(field("entries"), entriesArray(entries, from, to));
        reply.insert(field("last"), to >= entries.size());
        send(peer, reply);
        reply.remove(field("sums"));
        reply.remove(field("leafSums"));
        reply.remove(field("whole"));
        from = to;
    } while (from < entries.size());
}

void AntiEntropy::answerRecords(const QString &peer, const QCborMap &frame)
{
    const QString mapName = frame.value(field("mapName")).toString();
    const QCborArray tombstoned = apply(peer, mapName, frame);
    if (frame.value(field("quiet")).toBool())
        return;
    QStringList wanted;
    for (const QCborValue &key : frame.value(field("want")).toArray())
        wanted.append(key.toString());
    sendRecords(peer, quint64(frame.value(field("round")).toInteger()), true, mapName, wanted, {},
        tombstoned);
}

void AntiEntropy::answerCounters(const QString &peer, const QCborMap &frame)
{
    mergeCounters(frame);
    // This side's state (after the merge) of every counter the round named, for the initiator.
    QCborMap states;
    if (m_pnCounters.state) {
        const QCborMap pushed = frame.value(field("states")).toMap();
        for (auto it = pushed.cbegin(); it != pushed.cend(); ++it) {
            if (it.key().isString())
                states.insert(it.key(), m_pnCounters.state(it.key().toString()));
        }
        for (const QCborValue &name : frame.value(field("want")).toArray()) {
            if (name.isString())
                states.insert(name, m_pnCounters.state(name.toString()));
        }
    }
    send(peer,
        QCborMap { { field("type"), kCounters }, { field("round"), frame.value(field("round")) },
            { field("reply"), true }, { field("states"), states }, { field("last"), true } });
}

void AntiEntropy::mergeCounters(const QCborMap &frame)
{
    if (!m_pnCounters.merge)
        return;
    const QCborMap states = frame.value(field("states")).toMap();
    for (auto it = states.cbegin(); it != states.cend(); ++it) {
        if (it.key().isString() && !it.key().toString().isEmpty() && it.value().isMap())
            m_pnCounters.merge(it.key().toString(), it.value().toMap());
    }
}

// --- Initiator ---------------------------------------------------------------------------------

bool AntiEntropy::compareCounters(const QString &peer, Round &round, const QCborMap &theirs)
{
    if (!m_pnCounters.digests || !m_pnCounters.state)
        return false;
    const QHash<QString, quint32> own = m_pnCounters.digests();
    QCborMap states;
    for (auto it = own.cbegin(); it != own.cend(); ++it) {
        const QCborValue their = theirs.value(it.key());
        if (!their.isInteger() || quint32(their.toInteger()) != it.value())
            states.insert(it.key(), m_pnCounters.state(it.key()));
    }
    QCborArray want;
    for (auto it = theirs.cbegin(); it != theirs.cend(); ++it) {
        if (it.key().isString() && !own.contains(it.key().toString()))
            want.append(it.key());
    }
    if (states.isEmpty() && want.isEmpty())
        return false;
    ++round.awaiting;
    send(peer,
        QCborMap { { field("type"), kCounters }, { field("round"), qint64(round.id) },
            { field("reply"), false }, { field("states"), states }, { field("want"), want } });
    return true;
}

void AntiEntropy::onRoots(const QString &peer, Round &round, const QCborMap &frame)
{
    struct Root {
        QString kind;
        quint32 root = 0;
        qint64 count = 0;
    };
    QHash<QString, Root> theirs;
    for (const QCborValue &value : frame.value(field("maps")).toArray()) {
        const QCborMap map = value.toMap();
        theirs.insert(map.value(field("mapName")).toString(),
            { map.value(field("kind")).toString(), quint32(map.value(field("root")).toInteger()),
                map.value(field("count")).toInteger() });
    }
    QSet<QString> names(theirs.keyBegin(), theirs.keyEnd());
    for (const QString &name : m_maps.mapNames())
        names.insert(name);
    for (const QString &name : names) {
        const crdt::MerkleTree *tree = treeOf(name);
        const Root their = theirs.value(name);
        const qint64 count = tree ? tree->size() : 0;
        const quint32 root = tree ? tree->rootHash() : 0;
        if (root == their.root && count == their.count)
            continue;
        const maps::MapRegistry::Kind kind = m_maps.kindOf(name);
        const QString ownKind = kind == maps::MapRegistry::Kind::Lww ? QStringLiteral("lww")
            : kind == maps::MapRegistry::Kind::Or                    ? QStringLiteral("or")
                                                                     : QString();
        if (!ownKind.isEmpty() && !their.kind.isEmpty() && ownKind != their.kind) {
            if (!m_kindLogged.contains(name)) {
                m_kindLogged.insert(name);
                qCWarning(lcCluster).noquote() << "anti-entropy skips map" << name << "with" << peer
                                               << ": it is of another kind there";
            }
            continue;
        }
        round.walks.insert(name, Walk { ownKind.isEmpty() ? their.kind : ownKind, {}, {}, {}, {} });
        round.walked = true;
        ++round.awaiting;
        send(peer,
            QCborMap { { field("type"), kBuckets }, { field("round"), qint64(round.id) },
                { field("reply"), false }, { field("mapName"), name }, { field("level"), 0 } });
    }
    if (compareCounters(peer, round, frame.value(field("counters")).toMap()))
        round.walked = true;
    replied(peer, round, true);
}

void AntiEntropy::onBuckets(const QString &peer, Round &round, const QCborMap &frame)
{
    const QString mapName = frame.value(field("mapName")).toString();
    const qint64 level = frame.value(field("level")).toInteger();
    const bool last = frame.value(field("last")).toBool();
    const auto it = round.walks.find(mapName);
    if (it == round.walks.end())
        return replied(peer, round, last);
    Walk &walk = *it;
    const crdt::MerkleTree *tree = treeOf(mapName);
    const auto request = [&](qint64 nextLevel, const QCborArray &ids) {
        ++round.awaiting;
        send(peer,
            QCborMap { { field("type"), kBuckets }, { field("round"), qint64(round.id) },
                { field("reply"), false }, { field("mapName"), mapName },
                { field("level"), nextLevel }, { field("ids"), ids } });
    };
    if (level == 0) {
        const PartitionDigest own = tree ? PartitionDigest::ofTree(*tree) : PartitionDigest();
        const QCborArray sums = frame.value(field("sums")).toArray();
        QCborArray differing;
        for (int p = 0; p < PartitionDigest::kPartitions; ++p) {
            if (quint32(sums.at(p).toInteger()) != own.partitionSum(p))
                differing.append(p);
        }
        if (!differing.isEmpty())
            request(1, differing);
        return replied(peer, round, last);
    }
    readEntries(frame.value(field("entries")), walk.theirs);
    if (level == 1) {
        for (const QCborValue &p : frame.value(field("whole")).toArray())
            walk.partitions.insert(int(p.toInteger()));
        for (const QCborValue &value : frame.value(field("leafSums")).toArray()) {
            const QCborArray pair = value.toArray();
            QList<quint32> sums;
            for (const QCborValue &sum : pair.at(1).toArray())
                sums.append(quint32(sum.toInteger()));
            if (sums.size() == PartitionDigest::kLeaves)
                walk.leafSums.insert(int(pair.at(0).toInteger()), sums);
        }
        if (!last)
            return replied(peer, round, last);
        const PartitionDigest own = tree ? PartitionDigest::ofTree(*tree) : PartitionDigest();
        QCborArray leaves;
        for (auto sums = walk.leafSums.cbegin(); sums != walk.leafSums.cend(); ++sums) {
            for (int leaf = 0; leaf < PartitionDigest::kLeaves; ++leaf) {
                if (sums.value().at(leaf) != own.leafSum(sums.key(), leaf)) {
                    const int id = sums.key() * PartitionDigest::kLeaves + leaf;
                    walk.leaves.insert(id);
                    leaves.append(id);
                }
            }
        }
        if (!leaves.isEmpty())
            request(2, leaves);
        else
            compare(peer, round, mapName, walk);
        return replied(peer, round, last);
    }
    if (last)
        compare(peer, round, mapName, walk);
    replied(peer, round, last);
}

void AntiEntropy::compare(const QString &peer, Round &round, const QString &mapName, Walk &walk)
{
    const crdt::MerkleTree *tree = treeOf(mapName);
    const PartitionDigest::Entries own = tree
        ? PartitionDigest::select(*tree, walk.partitions, walk.leaves)
        : PartitionDigest::Entries();
    QHash<QString, quint32> theirs;
    theirs.reserve(walk.theirs.size());
    for (const auto &[key, itemHash] : walk.theirs)
        theirs.insert(key, itemHash);
    QStringList push;
    QStringList want;
    for (const auto &[key, itemHash] : own) {
        const auto their = theirs.constFind(key);
        if (their == theirs.cend()) {
            push.append(key);
            continue;
        }
        if (their.value() != itemHash) {
            push.append(key);
            want.append(key);
        }
        theirs.erase(their);
    }
    for (auto it = theirs.cbegin(); it != theirs.cend(); ++it)
        want.append(it.key());
    walk.theirs.clear();
    if (push.isEmpty() && want.isEmpty())
        return;
    round.awaiting += sendRecords(peer, round.id, false, mapName, push, want, {});
}

void AntiEntropy::onRecords(const QString &peer, Round &round, const QCborMap &frame)
{
    const QString mapName = frame.value(field("mapName")).toString();
    const QCborArray tombstoned = apply(peer, mapName, frame);
    if (!tombstoned.isEmpty()) {
        // Records the peer holds whose tags are tombstoned here: tell it, no answer needed.
        send(peer,
            QCborMap { { field("type"), kRecords }, { field("round"), qint64(round.id) },
                { field("reply"), false }, { field("mapName"), mapName },
                { field("tombstoned"), tombstoned }, { field("quiet"), true } });
    }
    replied(peer, round, frame.value(field("last")).toBool());
}

// --- Records -----------------------------------------------------------------------------------

QCborArray AntiEntropy::apply(const QString &peer, const QString &mapName, const QCborMap &frame)
{
    QCborArray tombstonedHere;
    QList<ops::ReplicatedChange> changes;
    const crdt::OrMap *orMap = m_maps.findOr(mapName);
    for (const QCborValue &value : frame.value(field("push")).toArray()) {
        const QCborMap entry = value.toMap();
        ops::ReplicatedChange change;
        change.mapName = mapName;
        change.key = entry.value(field("key")).toString();
        if (const QCborValue record = entry.value(field("record")); !record.isUndefined())
            change.record = protocol::lwwRecordFromCbor(record);
        else if (const QCborValue record = entry.value(field("orRecord")); !record.isUndefined())
            change.orRecord = protocol::orRecordFromCbor(record);
        if (change.key.isEmpty() || (!change.record && !change.orRecord))
            continue;
        if (change.orRecord && orMap && orMap->isTombstoned(change.orRecord->tag)) {
            tombstonedHere.append(QCborArray { change.key, change.orRecord->tag });
            continue;
        }
        changes.append(std::move(change));
    }
    for (const QCborValue &value : frame.value(field("tombstoned")).toArray()) {
        const QCborArray pair = value.toArray();
        if (pair.size() == 2 && pair[0].isString() && pair[1].isString())
            changes.append(
                { mapName, pair[0].toString(), std::nullopt, std::nullopt, pair[1].toString() });
    }
    if (changes.isEmpty())
        return tombstonedHere;
    const quint64 before = m_applier.changesApplied();
    m_applier.apply(peer, changes, {});
    m_counters[peer].keysRepaired += m_applier.changesApplied() - before;
    return tombstonedHere;
}

int AntiEntropy::sendRecords(const QString &peer, quint64 round, bool reply, const QString &mapName,
    const QStringList &keys, const QStringList &want, const QCborArray &tombstoned)
{
    const crdt::LwwMap *lww = m_maps.findLww(mapName);
    const crdt::OrMap *orMap = m_maps.findOr(mapName);
    const auto writeChange = [&](wire::MsgPackWriter &out, const QString &key) {
        out.mapHeader(2);
        out.latin1(QLatin1StringView("key"));
        out.string(key);
    };
    int frames = 0;
    qsizetype k = 0;
    qsizetype w = 0;
    do {
        QByteArray changes;
        quint32 count = 0;
        {
            wire::MsgPackWriter out(changes, 4096);
            while (k < keys.size() && out.size() < m_options.maxChunkBytes) {
                const QString &key = keys.at(k++);
                if (lww) {
                    if (const std::optional<crdt::LwwRecord> record = lww->getRecord(key)) {
                        writeChange(out, key);
                        out.latin1(QLatin1StringView("record"));
                        protocol::writeLwwRecord(out, *record);
                        ++count;
                    }
                } else if (orMap) {
                    for (const crdt::OrRecord &record : orMap->records(key)) {
                        writeChange(out, key);
                        out.latin1(QLatin1StringView("orRecord"));
                        protocol::writeOrRecord(out, record);
                        ++count;
                    }
                }
            }
        }
        qsizetype bytes = changes.size();
        const qsizetype firstWant = w;
        while (w < want.size() && bytes < m_options.maxChunkBytes)
            bytes += want.at(w++).size() * 3 + 5;
        const bool last = k >= keys.size() && w >= want.size();
        QByteArray body;
        {
            wire::MsgPackWriter out(body, bytes + 256);
            out.mapHeader(8);
            out.latin1(QLatin1StringView("type"));
            out.latin1(kRecords);
            out.latin1(QLatin1StringView("round"));
            out.integer(qint64(round));
            out.latin1(QLatin1StringView("reply"));
            out.boolean(reply);
            out.latin1(QLatin1StringView("mapName"));
            out.string(mapName);
            out.latin1(QLatin1StringView("push"));
            out.arrayHeader(count);
            out.raw(changes);
            out.latin1(QLatin1StringView("want"));
            out.arrayHeader(quint32(w - firstWant));
            for (qsizetype i = firstWant; i < w; ++i)
                out.string(want.at(i));
            out.latin1(QLatin1StringView("tombstoned"));
            out.value(frames == 0 ? QCborValue(tombstoned) : QCborValue(QCborArray()));
            out.latin1(QLatin1StringView("last"));
            out.boolean(last);
        }
        m_bus.send(peer, body);
        ++frames;
    } while (k < keys.size() || w < want.size());
    return frames;
}

} // namespace wingman::cluster

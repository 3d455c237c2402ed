#include "cluster/Replicator.h"

#include "cluster/ClusterModule.h"
#include "cluster/PeerBus.h"
#include "cluster/ReplicationFrames.h"
#include "ops/ChangeApplier.h"
#include "ops/ChangeSet.h"

#include <QMetaObject>

#include <algorithm>
#include <utility>

namespace wingman::cluster {

Replicator::Replicator(PeerBus &bus, ops::ChangeApplier &applier, Options options, QObject *parent)
    : QObject(parent)
    , m_bus(bus)
    , m_applier(applier)
    , m_options(options)
{
    connect(&bus, &PeerBus::frameReceived, this, &Replicator::onFrame);
    connect(&bus, &PeerBus::linkUp, this, &Replicator::onLinkUp);
    // What was sent on a link that dropped may be lost: the bus re-sends nothing.
    connect(&bus, &PeerBus::linkDown, this, [this](const QString &peer) {
        if (auto it = m_peers.find(peer); it != m_peers.end() && !it->queue.empty())
            it->needsReplay = true;
    });
    // A member that left or was forgotten gets nothing more: its hints are freed.
    connect(&bus, &PeerBus::membersChanged, this, [this] {
        const QStringList peers = m_bus.replicaPeers();
        for (auto it = m_peers.begin(); it != m_peers.end(); ++it) {
            if (!it->queue.empty() && !peers.contains(it.key())) {
                it->queue.clear();
                it->counters.queueBytes = 0;
                it->needsReplay = false;
            }
        }
    });
}

Replicator::Ticket Replicator::replicate(const ops::ChangeSet &changes)
{
    // GC prunes carry no change events: each node prunes for itself.
    if (changes.changesByMap().isEmpty())
        return {};
    if (m_chunks.isEmpty()) {
        m_turnPeers = m_bus.replicaPeers();
        if (m_turnPeers.isEmpty())
            return {};
        m_chunks.append(Chunk {});
    }
    const auto &byMap = changes.changesByMap();
    for (auto it = byMap.cbegin(); it != byMap.cend(); ++it) {
        for (const live::Change &change : it.value()) {
            if (m_chunks.last().entries.size() >= m_options.maxBatchBytes)
                m_chunks.append(Chunk {});
            Chunk &chunk = m_chunks.last();
            replication::appendEntry(chunk.entries, change);
            ++chunk.count;
        }
    }

    Ticket ticket;
    ticket.reserve(m_turnPeers.size());
    const quint64 offset = quint64(m_chunks.size() - 1);
    for (const QString &peer : std::as_const(m_turnPeers))
        ticket.insert(peer, m_peers[peer].nextSeq + offset);
    if (!m_flushScheduled) {
        m_flushScheduled = true;
        QMetaObject::invokeMethod(this, &Replicator::flush, Qt::QueuedConnection);
    }
    return ticket;
}

void Replicator::flush()
{
    m_flushScheduled = false;
    const QList<Chunk> chunks = std::exchange(m_chunks, {});
    const QStringList peers = std::exchange(m_turnPeers, {});
    for (const QString &peerId : peers) {
        Peer &peer = m_peers[peerId];
        for (const Chunk &chunk : chunks) {
            if (chunk.count == 0) {
                ++peer.nextSeq; // keeps the tickets' arithmetic; an empty batch says nothing
                continue;
            }
            const quint64 seq = peer.nextSeq++;
            enqueue(peerId, peer,
                Hint { seq, replication::replicateBody(seq, chunk.count, chunk.entries),
                    chunk.count });
        }
    }
}

void Replicator::enqueue(const QString &peerId, Peer &peer, Hint hint)
{
    if (peer.counters.queueBytes + hint.body.size() > m_options.hintQueueBytes) {
        // Once per episode: a peer away for long overflows again and again until repaired.
        if (!peer.overflowed)
            qCWarning(lcCluster).noquote()
                << "hint queue for" << peerId << "passed" << m_options.hintQueueBytes
                << "bytes; dropped, anti-entropy will repair";
        peer.queue.clear();
        peer.counters.queueBytes = 0;
        ++peer.counters.queuesDropped;
        peer.overflowed = true;
        peer.needsReplay = false;
        Q_EMIT hintQueueDropped(peerId);
    }
    // Sent at once only when nothing older waits for a link-up replay: the peer's cumulative
    // ack must never cover a batch it has not received.
    if (!peer.needsReplay && m_bus.isReachable(peerId) && m_bus.send(peerId, hint.body))
        peer.counters.changesSent += hint.count;
    else
        peer.needsReplay = true;
    peer.counters.queueBytes += hint.body.size();
    peer.queue.push_back(std::move(hint));
}

void Replicator::onLinkUp(const QString &peerId)
{
    auto it = m_peers.find(peerId);
    if (it == m_peers.end())
        return;
    Peer &peer = *it;
    if (!peer.needsReplay)
        return;
    for (const Hint &hint : peer.queue) {
        if (!m_bus.send(peerId, hint.body))
            return; // the link went again; the next link-up replays
        ++peer.counters.hintsReplayed;
        peer.counters.changesSent += hint.count;
    }
    peer.needsReplay = false;
    if (!peer.queue.empty())
        qCInfo(lcCluster).noquote()
            << "replayed" << peer.queue.size() << "unacked batches to" << peerId;
}

void Replicator::onFrame(const QString &peer, const QString &type, const QByteArray &body)
{
    if (type == replication::kReplicate)
        receive(peer, body);
    else if (type == replication::kReplicateAck)
        receiveAck(peer, body);
}

void Replicator::receiveAck(const QString &peerId, const QByteArray &body)
{
    const std::optional<quint64> upTo = replication::decodeAck(body);
    if (!upTo) {
        qCWarning(lcCluster).noquote() << "undecodable REPLICATE_ACK from" << peerId;
        return;
    }
    Peer &peer = m_peers[peerId];
    while (!peer.queue.empty() && peer.queue.front().seq <= *upTo) {
        peer.counters.queueBytes -= peer.queue.front().body.size();
        peer.queue.pop_front();
    }
    Q_EMIT acked(peerId, *upTo);
}

void Replicator::receive(const QString &peerId, const QByteArray &body)
{
    QString error;
    std::optional<replication::Replicate> frame
        = replication::decodeReplicate(body, &error, &m_decoder);
    if (!frame) {
        qCWarning(lcCluster).noquote() << "undecodable REPLICATE from" << peerId << ":" << error;
        return;
    }
    Peer &peer = m_peers[peerId];
    peer.counters.changesReceived += quint64(frame->changes.size());
    const quint64 seq = frame->seq;
    QPointer<Replicator> self(this);
    const bool committing = m_applier.apply(peerId, frame->changes, [self, peerId, seq](bool ok) {
        if (self)
            self->committed(peerId, seq, ok);
    });
    if (committing) {
        ++peer.inflight;
    } else if (peer.inflight > 0) {
        peer.heldAck = std::max(peer.heldAck, seq);
    } else {
        m_bus.send(peerId, replication::ackBody(seq));
    }
}

void Replicator::committed(const QString &peerId, quint64 seq, bool ok)
{
    Peer &peer = m_peers[peerId];
    --peer.inflight;
    // A failed commit is not acked: the sender keeps the batch and replays it on the next link-up.
    if (!ok)
        return;
    quint64 upTo = seq;
    if (peer.inflight == 0) {
        upTo = std::max(upTo, peer.heldAck);
        peer.heldAck = 0;
    }
    m_bus.send(peerId, replication::ackBody(upTo));
}

bool Replicator::isOverflowed(const QString &peer) const
{
    const auto it = m_peers.constFind(peer);
    return it != m_peers.cend() && it->overflowed;
}

void Replicator::clearOverflow(const QString &peer)
{
    if (auto it = m_peers.find(peer); it != m_peers.end())
        it->overflowed = false;
}

QHash<QString, Replicator::PeerCounters> Replicator::counters() const
{
    QHash<QString, PeerCounters> result;
    for (auto it = m_peers.cbegin(); it != m_peers.cend(); ++it)
        result.insert(it.key(), it->counters);
    return result;
}

qint64 Replicator::queueBytes(const QString &peer) const
{
    const auto it = m_peers.constFind(peer);
    return it == m_peers.cend() ? 0 : it->counters.queueBytes;
}

} // namespace wingman::cluster

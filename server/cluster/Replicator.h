#pragma once

#include "protocol/OpBatchDecoder.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>

#include <deque>

namespace wingman::ops {
class ChangeApplier;
class ChangeSet;
} // namespace wingman::ops

namespace wingman::cluster {

class PeerBus;

// Ships this node's changes to every replica peer and applies theirs (docs/cluster.md §4, §5).
// Out: the changes of one event-loop turn go as one REPLICATE per peer (split above
// maxBatchBytes), each with the next per-peer seq, and stay in that peer's hint queue until its
// cumulative REPLICATE_ACK covers them; a peer that is not reachable only gets them queued, and
// on linkUp the queue is replayed, in order, before anything new. A queue that would pass
// hintQueueBytes is dropped and counted (anti-entropy repairs). In: a REPLICATE goes to the
// ChangeApplier; REPLICATE_ACK {upTo} follows once its commit is durable (and every earlier one).
class Replicator : public QObject
{
    Q_OBJECT
public:
    struct Options {
        qint64 hintQueueBytes = 64LL * 1024 * 1024;
        qint64 maxBatchBytes = 1024 * 1024;
    };
    // Per peer, the seq of the REPLICATE that carries (the last of) some changes.
    using Ticket = QHash<QString, quint64>;
    struct PeerCounters {
        quint64 changesSent = 0;
        quint64 changesReceived = 0;
        quint64 hintsReplayed = 0; // batches re-sent on a link-up
        quint64 queuesDropped = 0;
        qint64 queueBytes = 0;
    };

    Replicator(
        PeerBus &bus, ops::ChangeApplier &applier, Options options, QObject *parent = nullptr);

    // Queues the changes for every replica peer; they leave at the end of this event-loop turn.
    // Empty when there are no replica peers.
    Ticket replicate(const ops::ChangeSet &changes);
    // Sends what this turn queued now.
    void flush();

    // The peer's hint queue was dropped and no anti-entropy round has repaired it since: its
    // acks cannot stand for the changes that were lost.
    bool isOverflowed(const QString &peer) const;
    // Anti-entropy finished a round with peer.
    void clearOverflow(const QString &peer);
    QHash<QString, PeerCounters> counters() const;
    qint64 queueBytes(const QString &peer) const;

Q_SIGNALS:
    // peer's durable commit covers every batch up to seq upTo.
    void acked(const QString &peer, quint64 upTo);
    // peer's hint queue overflowed and was dropped: it needs a full anti-entropy round.
    void hintQueueDropped(const QString &peer);

private:
    struct Hint {
        quint64 seq = 0;
        QByteArray body;
        quint32 count = 0;
    };
    struct Chunk {
        QByteArray entries;
        quint32 count = 0;
    };
    struct Peer {
        quint64 nextSeq = 1;
        std::deque<Hint> queue; // sent or waiting, not acked, in seq order
        bool overflowed = false;
        bool needsReplay = false; // the queue holds batches the current link has not carried
        // Receiving side: commits in flight from this peer, and the highest seq seen while some
        // were (an empty batch is acked only after what came before it).
        int inflight = 0;
        quint64 heldAck = 0;
        PeerCounters counters;
    };

    void onFrame(const QString &peer, const QString &type, const QByteArray &body);
    void onLinkUp(const QString &peer);
    void receive(const QString &peer, const QByteArray &body);
    void receiveAck(const QString &peer, const QByteArray &body);
    void committed(const QString &peer, quint64 seq, bool ok);
    void enqueue(const QString &peerId, Peer &peer, Hint hint);

    PeerBus &m_bus;
    ops::ChangeApplier &m_applier;
    Options m_options;
    QHash<QString, Peer> m_peers;
    protocol::OpBatchDecoder m_decoder;
    // This turn's changes, encoded once for every peer, and whom they go to.
    QList<Chunk> m_chunks;
    QStringList m_turnPeers;
    bool m_flushScheduled = false;
};

} // namespace wingman::cluster

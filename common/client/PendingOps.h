#pragma once

#include "protocol/MessageTypes.h"

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>
#include <map>

namespace wingman::client {

// The ops a client has logged but the server has not acknowledged, in op-id order, with what
// was sent when on the current connection. Drives first sends, retransmits after an ack
// timeout, and OP_ACKs that carry only lastId.
class PendingOps
{
public:
    // op.id must be set (a decimal sequence number).
    void add(const protocol::ClientOp &op);
    // Removes the op; false if it was not pending.
    bool remove(const QString &id);
    bool contains(const QString &id) const;
    // Every pending op, in id order.
    QList<protocol::ClientOp> ops() const;
    bool isEmpty() const { return m_ops.empty(); }
    qsizetype size() const { return qsizetype(m_ops.size()); }

    // A new connection: nothing has been sent on it yet.
    void markAllUnsent();
    bool hasUnsent() const;
    // Up to maxOps unsent ops in id order, now counted as one batch sent at nowMs.
    QList<protocol::ClientOp> takeUnsent(qint64 nowMs, int maxOps);
    // Ops sent at least timeoutMs ago and still unacknowledged become unsent again; returns
    // how many did.
    int expire(qint64 nowMs, qint64 timeoutMs);

    // The pending ops an OP_ACK without results acknowledges: those of the batch that ended
    // with lastId if this connection sent one, else (as TopGun) every op whose id is numerically
    // at most lastId.
    QStringList acknowledgedBy(const QString &lastId) const;

private:
    struct Entry {
        protocol::ClientOp op;
        qint64 sentAtMs = -1; // -1: not sent on this connection
    };

    static qint64 sequenceOf(const QString &id);

    std::map<qint64, Entry> m_ops;
    QHash<QString, QStringList> m_batches; // lastId -> ids of the batch sent with it
};

} // namespace wingman::client

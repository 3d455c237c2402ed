#include "client/PendingOps.h"

namespace wingman::client {

void PendingOps::add(const protocol::ClientOp &op)
{
    m_ops[sequenceOf(op.id.value_or(QString()))] = Entry { op, -1 };
}

bool PendingOps::remove(const QString &id)
{
    return m_ops.erase(sequenceOf(id)) > 0;
}

bool PendingOps::contains(const QString &id) const
{
    return m_ops.contains(sequenceOf(id));
}

QList<protocol::ClientOp> PendingOps::ops() const
{
    QList<protocol::ClientOp> ops;
    ops.reserve(qsizetype(m_ops.size()));
    for (const auto &[sequence, entry] : m_ops)
        ops.append(entry.op);
    return ops;
}

void PendingOps::markAllUnsent()
{
    for (auto &[sequence, entry] : m_ops)
        entry.sentAtMs = -1;
    m_batches.clear();
}

bool PendingOps::hasUnsent() const
{
    for (const auto &[sequence, entry] : m_ops) {
        if (entry.sentAtMs < 0)
            return true;
    }
    return false;
}

QList<protocol::ClientOp> PendingOps::takeUnsent(qint64 nowMs, int maxOps)
{
    QList<protocol::ClientOp> batch;
    QStringList ids;
    for (auto &[sequence, entry] : m_ops) {
        if (batch.size() >= maxOps)
            break;
        if (entry.sentAtMs >= 0)
            continue;
        entry.sentAtMs = nowMs;
        batch.append(entry.op);
        ids.append(*entry.op.id);
    }
    if (!ids.isEmpty())
        m_batches.insert(ids.last(), ids);
    return batch;
}

int PendingOps::expire(qint64 nowMs, qint64 timeoutMs)
{
    int expired = 0;
    for (auto &[sequence, entry] : m_ops) {
        if (entry.sentAtMs >= 0 && nowMs - entry.sentAtMs >= timeoutMs) {
            entry.sentAtMs = -1;
            ++expired;
        }
    }
    // A late ack of an expired batch may still arrive: keep its record until then, but drop
    // batches none of whose ops is pending any more.
    m_batches.removeIf([this](const auto &batch) {
        for (const QString &id : batch.value()) {
            if (contains(id))
                return false;
        }
        return true;
    });
    return expired;
}

QStringList PendingOps::acknowledgedBy(const QString &lastId) const
{
    QStringList ids;
    if (const auto batch = m_batches.constFind(lastId); batch != m_batches.cend()) {
        for (const QString &id : *batch) {
            if (contains(id))
                ids.append(id);
        }
        return ids;
    }
    bool ok = false;
    const qint64 last = lastId.toLongLong(&ok);
    if (!ok)
        return ids;
    for (const auto &[sequence, entry] : m_ops) {
        if (sequence > last)
            break;
        ids.append(*entry.op.id);
    }
    return ids;
}

qint64 PendingOps::sequenceOf(const QString &id)
{
    bool ok = false;
    const qint64 sequence = id.toLongLong(&ok);
    return ok ? sequence : -1;
}

} // namespace wingman::client

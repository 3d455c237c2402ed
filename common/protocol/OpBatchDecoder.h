#pragma once

#include "protocol/MessageTypes.h"

#include <QByteArrayView>
#include <QList>

#include <optional>

namespace wingman::protocol {

// The ops of a CLIENT_OP or OP_BATCH frame.
struct DecodedOps {
    MessageType type = MessageType::OpBatch;
    QList<ClientOp> ops;
    // Empty, or per op why it is malformed (empty for a good one): such an op is rejected alone
    // and the rest of the batch goes on. Its ClientOp then only carries the id, when it has one.
    QStringList invalid;
    std::optional<WriteConcern> writeConcern;
    std::optional<qint64> timeout;

    // The generic path, from the decoded message: nullopt when it is neither a CLIENT_OP with a
    // payload map nor an OP_BATCH with payload.ops an array.
    static std::optional<DecodedOps> fromCbor(const QCborMap &message, DecodeError *error);
    bool isInvalid(qsizetype index) const
    {
        return index < invalid.size() && !invalid.at(index).isEmpty();
    }
};

// A peer's REPLICATE (docs/cluster.md §1): its change entries {mapName, key, record | orRecord |
// orTag} are the shapes of a ClientOp without opType.
struct ReplicatedOps {
    quint64 seq = 0;
    QList<ClientOp> changes;
};

// Decodes the write path's frames straight from MessagePack into ClientOps, without building a
// QCborValue tree of the whole message first: the generic path costs several allocations per
// field, and writes are the bulk of the traffic. Record values are not decoded at all: they stay
// their bytes in the frame (crdt::Value::fromPacked). Only the plain shape is taken: a frame of
// any other type, or with anything the generic path would refuse or treat specially (a malformed
// op, an ext value, null for an optional field, a string that is not valid UTF-8), gives
// nullopt, and the caller decodes it the generic way, which yields the exact error (per op, for
// invalid UTF-8). The result is therefore always equal to what ClientOp::fromCbor gives for the
// same frame.
class OpBatchDecoder
{
public:
    std::optional<DecodedOps> decode(QByteArrayView frame, const DecodeLimits &limits = {});
    // The same reading for a peer's REPLICATE, values kept as their bytes; nullopt as above.
    std::optional<ReplicatedOps> decodeReplicate(
        QByteArrayView frame, const DecodeLimits &limits = {});

private:
    // The map name and node id repeat across a batch (and a connection): one QString each.
    QString m_lastMapName;
    QString m_lastNodeId;
};

} // namespace wingman::protocol

#pragma once

#include "ops/ChangeApplier.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace wingman::live {
struct Change;
}
namespace wingman::protocol {
class OpBatchDecoder;
}

namespace wingman::cluster {

// REPLICATE and REPLICATE_ACK bodies (docs/cluster.md §1). A change entry is
// {mapName, key, record | orRecord | orTag}; records keep their values' original bytes.
namespace replication {

inline constexpr QLatin1StringView kReplicate { "REPLICATE" };
inline constexpr QLatin1StringView kReplicateAck { "REPLICATE_ACK" };

// Appends the entry of one change event to entries.
void appendEntry(QByteArray &entries, const live::Change &change);
// {type: REPLICATE, seq, changes: [count entries]}.
QByteArray replicateBody(quint64 seq, quint32 count, QByteArrayView entries);
QByteArray ackBody(quint64 upTo);

struct Replicate {
    quint64 seq = 0;
    QList<ops::ReplicatedChange> changes;
};
// nullopt (with why) when the body is not a REPLICATE this node can read. With a fast decoder,
// plain frames are read straight from MessagePack and values keep their bytes; anything else
// takes the generic path.
std::optional<Replicate> decodeReplicate(
    const QByteArray &body, QString *error = nullptr, protocol::OpBatchDecoder *fast = nullptr);
std::optional<quint64> decodeAck(const QByteArray &body);

} // namespace replication
} // namespace wingman::cluster

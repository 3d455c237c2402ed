#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// The partition map clients may ask for (docs/protocol.md "Partition map", docs/cluster.md §3);
// conventions as in AuthMessages.h.

// payload?: {currentVersion?}; the map is sent when currentVersion (absent = 0) is older.
struct PartitionMapRequestMessage {
    static constexpr MessageType kType = MessageType::PartitionMapRequest;
    QCborValue payload = QCborValue(QCborValue::Undefined); // undefined = absent

    qint64 currentVersion() const;
    static std::optional<PartitionMapRequestMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const PartitionMapRequestMessage &, const PartitionMapRequestMessage &)
        = default;
};

// payload: PartitionMap. nodes and partitions are arrays of the maps protocol.md shows.
struct PartitionMapMessage {
    static constexpr MessageType kType = MessageType::PartitionMap;
    qint64 version = 0;
    qint64 partitionCount = 271;
    QCborValue nodes; // [{nodeId, endpoints:{websocket}, status}]
    QCborValue partitions; // [{partitionId, ownerNodeId, backupNodeIds}]
    qint64 generatedAt = 0;

    static std::optional<PartitionMapMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const PartitionMapMessage &, const PartitionMapMessage &) = default;
};

} // namespace wingman::protocol

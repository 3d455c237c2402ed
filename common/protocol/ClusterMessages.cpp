#include "protocol/ClusterMessages.h"

#include "protocol/Schema.h"

namespace wingman::protocol {

using namespace schema;

namespace {

// Tables keep one field a line, in wire order.
// clang-format off
using PartitionMapRequest = TopLevelMessage<PartitionMapRequestMessage,
    Field<"payload", &PartitionMapRequestMessage::payload, AnyValue>>;

using PartitionMap = PayloadMessage<PartitionMapMessage, Fields<
    Field<"version", &PartitionMapMessage::version>,
    Field<"partitionCount", &PartitionMapMessage::partitionCount>,
    Field<"nodes", &PartitionMapMessage::nodes, AnyValue>,
    Field<"partitions", &PartitionMapMessage::partitions, AnyValue>,
    Field<"generatedAt", &PartitionMapMessage::generatedAt>>>;
// clang-format on

} // namespace

qint64 PartitionMapRequestMessage::currentVersion() const
{
    const QCborValue version = payload.toMap().value(QStringLiteral("currentVersion"));
    if (version.isDouble())
        return qint64(version.toDouble());
    return version.toInteger(0);
}

WINGMAN_MESSAGE_CODEC(PartitionMapRequestMessage, PartitionMapRequest);
WINGMAN_MESSAGE_CODEC(PartitionMapMessage, PartitionMap);

} // namespace wingman::protocol

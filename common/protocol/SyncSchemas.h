#pragma once

#include "protocol/Schema.h"

// The messages LWW Merkle sync and OR-map sync share, one schema over either message struct
// (internal to common/protocol).
namespace wingman::protocol::schema {

// Tables keep one field a line, in wire order.
// clang-format off
template <typename M>
using RootSchema = PayloadMessage<M, Fields<
    Field<"mapName", &M::mapName>,
    Field<"rootHash", &M::rootHash>,
    Field<"timestamp", &M::timestamp>>>;

template <typename M>
using BucketRequestSchema = PayloadMessage<M, Fields<
    Field<"mapName", &M::mapName>,
    Field<"path", &M::path>>>;

template <typename M>
using BucketsSchema = PayloadMessage<M, Fields<
    Field<"mapName", &M::mapName>,
    Field<"path", &M::path>,
    Field<"buckets", &M::buckets>>>;
// clang-format on

} // namespace wingman::protocol::schema

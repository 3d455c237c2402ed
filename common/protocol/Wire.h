#pragma once

#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

// Typed messages are decoded from documents the MessagePack floor read, and report their errors
// in the same terms.
namespace wingman::protocol {
using wire::DecodeError;
using wire::DecodeLimits;
using wire::DecodeResult;
} // namespace wingman::protocol

#pragma once

#include <QString>

namespace wingman::bench {

struct Options;

// Encodes a sample batch and an OP_ACK and reads each back through the other side's codec, so a
// broken encoder or scanner stops the run before it produces figures. Empty when both hold.
QString selfCheck(const Options &options);

} // namespace wingman::bench

#pragma once

#include "protocol/Wire.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QCborValue>

namespace wingman::protocol {

// UTF-8 JSON text <-> QCborValue: the input fallback for clients that send JSON (text frames),
// and a readable form of any value for logs and debugging.
//
// Decoding: integral numbers become integers when exact, others doubles; the same limits as
// MessagePack apply. Encoding: byte arrays become base64url strings, non-string keys their text
// form, undefined becomes null.
class JsonCodec
{
public:
    static DecodeResult decode(QByteArrayView utf8, const DecodeLimits &limits = {});
    static QByteArray encode(const QCborValue &value);
};

} // namespace wingman::protocol

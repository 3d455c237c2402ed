#pragma once

#include "protocol/Wire.h"

#include <QByteArray>
#include <QByteArrayList>
#include <QByteArrayView>
#include <QCborMap>

namespace wingman::protocol {

struct BatchDecodeResult {
    QByteArrayList messages; // each one encoded MessagePack message, in order
    DecodeError error;
    bool ok = false;
};

// The server's coalescing frame `{type:'BATCH', count:N, data:<bin>}`, where data is u32le N
// followed by N times (u32le length, that many bytes of one encoded message).
class BatchContainer
{
public:
    // The whole BATCH frame, MessagePack-encoded, around already-encoded messages.
    static QByteArray encode(const QByteArrayList &encodedMessages);
    // The BATCH message as a map, for callers that add envelope fields before encoding.
    static QCborMap toCbor(const QByteArrayList &encodedMessages);
    // Just the `data` bytes.
    static QByteArray encodeData(const QByteArrayList &encodedMessages);

    // Splits a decoded BATCH message back into its encoded messages. Lengths and counts are
    // checked against the bytes present before anything is allocated for them.
    static BatchDecodeResult decode(const QCborMap &batchMessage);
    static BatchDecodeResult decodeData(QByteArrayView data);
};

} // namespace wingman::protocol

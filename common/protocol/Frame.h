#pragma once

#include "protocol/Wire.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QCborMap>
#include <QString>

namespace wingman::protocol {

struct FrameDecodeResult {
    enum Status {
        Ok, // a map with a string `type`
        Undecodable, // neither MessagePack nor JSON: close the socket with 1002
        InvalidMessage, // decodable, but not a map with a string `type`: answer ERROR 400
    };

    Status status = Undecodable;
    QCborMap message;
    QString type; // message["type"] when status is Ok
    DecodeError error;

    bool ok() const { return status == Ok; }
};

// One WebSocket frame <-> one protocol message. Frames are MessagePack; a frame that is not
// MessagePack is tried as UTF-8 JSON, so text frames work too. Outgoing frames are MessagePack.
class Frame
{
public:
    static FrameDecodeResult decode(QByteArrayView frame, const DecodeLimits &limits = {});
    static QByteArray encode(const QCborMap &message);
};

} // namespace wingman::protocol

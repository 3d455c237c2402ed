#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

namespace wingman::cluster {

// The cluster port's framing (docs/cluster.md §1): u32 big-endian length, then one MessagePack
// map body whose first key is `type`. Bytes go in as the socket delivers them; whole frames come
// out with their type read without decoding the rest of the body.
class PeerFrameReader
{
public:
    static constexpr qint64 kMaxFrameBytes = 16LL * 1024 * 1024;

    struct Frame {
        enum Status {
            Ok, // type and body hold the next frame
            Incomplete, // wait for more bytes
            TooLarge, // the length exceeds kMaxFrameBytes: the stream cannot be read on
            Untyped, // the body does not start with a string `type`
        };
        Status status = Incomplete;
        QString type;
        QByteArray body;
        quint32 length = 0; // the announced body length (for TooLarge)
    };

    void append(QByteArrayView bytes) { m_buffer.append(bytes); }
    // Takes the next frame off the buffer; after TooLarge or Untyped nothing more is read.
    Frame next();

    // The type of a frame body ("" when the body does not start with a string `type`).
    static QString peekType(QByteArrayView body);

private:
    QByteArray m_buffer;
    bool m_failed = false;
};

} // namespace wingman::cluster

#include "cluster/PeerFrameReader.h"

#include <QtEndian>

namespace wingman::cluster {

PeerFrameReader::Frame PeerFrameReader::next()
{
    Frame frame;
    if (m_failed || m_buffer.size() < 4)
        return frame;
    frame.length = qFromBigEndian<quint32>(m_buffer.constData());
    if (frame.length > kMaxFrameBytes) {
        m_failed = true;
        frame.status = Frame::TooLarge;
        return frame;
    }
    if (m_buffer.size() < 4 + qsizetype(frame.length))
        return frame;
    frame.body = m_buffer.mid(4, frame.length);
    m_buffer.remove(0, 4 + qsizetype(frame.length));
    frame.type = peekType(frame.body);
    if (frame.type.isEmpty()) {
        m_failed = true;
        frame.status = Frame::Untyped;
        return frame;
    }
    frame.status = Frame::Ok;
    return frame;
}

QString PeerFrameReader::peekType(QByteArrayView body)
{
    const auto *p = reinterpret_cast<const uchar *>(body.data());
    const qsizetype n = body.size();
    qsizetype at = 0;
    if (n < 1)
        return {};
    if ((p[0] & 0xf0) == 0x80)
        at = 1;
    else if (p[0] == 0xde)
        at = 3;
    else if (p[0] == 0xdf)
        at = 5;
    else
        return {};
    if (n < at + 6 || QByteArrayView(body.data() + at, 5) != QByteArrayView("\xa4type", 5))
        return {};
    at += 5;
    qsizetype length = 0;
    const uchar tag = p[at++];
    if ((tag & 0xe0) == 0xa0) {
        length = tag & 0x1f;
    } else if (tag == 0xd9 && at < n) {
        length = p[at++];
    } else if (tag == 0xda && at + 2 <= n) {
        length = qFromBigEndian<quint16>(p + at);
        at += 2;
    } else {
        return {};
    }
    if (at + length > n)
        return {};
    return QString::fromUtf8(body.data() + at, length);
}

} // namespace wingman::cluster

#pragma once

#include <QByteArray>

#include <cstddef>

namespace wingman::protocol {

// Output stream for msgpack::packer that appends straight into a QByteArray, so an encoded
// message is built in its final buffer.
class ByteArraySink
{
public:
    explicit ByteArraySink(QByteArray &out)
        : m_out(out)
    {
    }
    void write(const char *data, size_t size) { m_out.append(data, qsizetype(size)); }

private:
    QByteArray &m_out;
};

} // namespace wingman::protocol

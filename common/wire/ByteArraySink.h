#pragma once

#include <QByteArray>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace wingman::wire {

// Output stream for msgpack::packer that writes straight into a QByteArray, so an encoded
// message is built in its final buffer. It grows the array geometrically and tracks the used
// size itself, avoiding QByteArray::append's per-call bookkeeping on many small writes; the array
// is trimmed to the written bytes when the sink is destroyed.
class ByteArraySink
{
public:
    explicit ByteArraySink(QByteArray &out, qsizetype sizeHint = 0)
        : m_out(out)
        , m_size(out.size())
    {
        ensure(std::max<qsizetype>(sizeHint, 256));
    }
    ~ByteArraySink() { m_out.resize(m_size); }
    ByteArraySink(const ByteArraySink &) = delete;
    ByteArraySink &operator=(const ByteArraySink &) = delete;

    void write(const char *data, size_t size)
    {
        ensure(qsizetype(size));
        std::memcpy(m_data + m_size, data, size);
        m_size += qsizetype(size);
    }

private:
    void ensure(qsizetype extra)
    {
        if (m_size + extra <= m_capacity)
            return;
        m_capacity = std::max(m_size + extra, 2 * m_capacity);
        m_out.resize(m_capacity);
        m_data = m_out.data();
    }

    QByteArray &m_out;
    char *m_data = nullptr;
    qsizetype m_size = 0;
    qsizetype m_capacity = 0;
};

} // namespace wingman::wire

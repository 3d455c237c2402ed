#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QCborValue>
#include <QLatin1StringView>
#include <QStringView>

namespace wingman::wire {

// Writes MessagePack straight into a QByteArray: the hot messages (events, acks, query updates)
// are encoded field by field without building a QCborMap first. Integers follow msgpackr's rule
// (see MsgPackCodec); value() writes any QCborValue with MsgPackCodec's mapping. The array is
// trimmed to the written bytes by finish() or the destructor.
class MsgPackWriter
{
public:
    explicit MsgPackWriter(QByteArray &out, qsizetype sizeHint = 256);
    ~MsgPackWriter() { finish(); }
    MsgPackWriter(const MsgPackWriter &) = delete;
    MsgPackWriter &operator=(const MsgPackWriter &) = delete;

    void mapHeader(quint32 entries);
    void arrayHeader(quint32 elements);
    void nil() { put(char(0xc0)); }
    void boolean(bool v) { put(char(v ? 0xc3 : 0xc2)); }
    void integer(qint64 v);
    void float64(double v);
    // ASCII text, e.g. field names and enum names.
    void latin1(QLatin1StringView text);
    void string(QStringView text);
    void binary(QByteArrayView bytes);
    void value(const QCborValue &v);
    // Bytes that already are MessagePack.
    void raw(QByteArrayView bytes) { append(bytes.data(), bytes.size()); }

    qsizetype size() const { return m_size; }
    void finish() { m_out.resize(m_size); }

private:
    void put(char byte)
    {
        ensure(1);
        m_data[m_size++] = byte;
    }
    void append(const char *data, qsizetype size);
    void ensure(qsizetype extra)
    {
        if (m_size + extra > m_capacity)
            grow(extra);
    }
    void grow(qsizetype extra);
    void header(
        quint8 fix, quint8 fixLimit, quint8 code8, quint8 code16, quint8 code32, quint32 size);
    void uinteger(quint64 v);
    void tagged(const QCborValue &v);
    void positiveBignum(const QByteArray &bytes);
    void negativeBignum(const QByteArray &bytes);

    QByteArray &m_out;
    char *m_data = nullptr;
    qsizetype m_size = 0;
    qsizetype m_capacity = 0;
};

} // namespace wingman::wire

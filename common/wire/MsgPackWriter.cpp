#include "wire/MsgPackWriter.h"

#include "wire/MsgPackCodec.h"

#include <QCborArray>
#include <QCborMap>
#include <QtEndian>

#include <cstring>
#include <limits>

namespace wingman::wire {

namespace {

constexpr qint64 kMaxExactDouble = qint64(1) << 53;

quint64 bignumToUInt64(const QByteArray &bytes)
{
    quint64 v = 0;
    for (char byte : bytes)
        v = (v << 8) | quint8(byte);
    return v;
}

double bignumToDouble(const QByteArray &bytes)
{
    double v = 0;
    for (char byte : bytes)
        v = v * 256.0 + quint8(byte);
    return v;
}

} // namespace

MsgPackWriter::MsgPackWriter(QByteArray &out, qsizetype sizeHint)
    : m_out(out)
    , m_size(out.size())
{
    ensure(std::max<qsizetype>(sizeHint, 16));
}

void MsgPackWriter::grow(qsizetype extra)
{
    m_capacity = std::max(m_size + extra, 2 * m_capacity);
    m_out.resize(m_capacity);
    m_data = m_out.data();
}

void MsgPackWriter::append(const char *data, qsizetype size)
{
    ensure(size);
    std::memcpy(m_data + m_size, data, size_t(size));
    m_size += size;
}

void MsgPackWriter::header(
    quint8 fix, quint8 fixLimit, quint8 code8, quint8 code16, quint8 code32, quint32 size)
{
    ensure(5);
    char *p = m_data + m_size;
    if (size < fixLimit) {
        p[0] = char(fix | size);
        m_size += 1;
    } else if (code8 != 0 && size <= 0xff) {
        p[0] = char(code8);
        p[1] = char(size);
        m_size += 2;
    } else if (size <= 0xffff) {
        p[0] = char(code16);
        qToBigEndian(quint16(size), p + 1);
        m_size += 3;
    } else {
        p[0] = char(code32);
        qToBigEndian(size, p + 1);
        m_size += 5;
    }
}

void MsgPackWriter::mapHeader(quint32 entries)
{
    header(0x80, 16, 0, 0xde, 0xdf, entries);
}

void MsgPackWriter::arrayHeader(quint32 elements)
{
    header(0x90, 16, 0, 0xdc, 0xdd, elements);
}

void MsgPackWriter::latin1(QLatin1StringView text)
{
    header(0xa0, 32, 0xd9, 0xda, 0xdb, quint32(text.size()));
    append(text.data(), text.size());
}

void MsgPackWriter::string(QStringView text)
{
    // UTF-8 needs at most three bytes per UTF-16 code unit: room for the worst case is made, the
    // text converted, then the header written.
    const qsizetype worst = text.size() * 3;
    const int headerSize = worst < 32 ? 1 : worst <= 0xff ? 2 : worst <= 0xffff ? 3 : 5;
    ensure(headerSize + worst);
    char *start = m_data + m_size + headerSize;
    char *out = start;
    const char16_t *in = text.utf16();
    const char16_t *end = in + text.size();
    for (; in != end; ++in) {
        char16_t c = *in;
        if (c < 0x80) {
            *out++ = char(c);
        } else if (c < 0x800) {
            *out++ = char(0xc0 | (c >> 6));
            *out++ = char(0x80 | (c & 0x3f));
        } else if (QChar::isHighSurrogate(c) && in + 1 != end && QChar::isLowSurrogate(in[1])) {
            const char32_t u = QChar::surrogateToUcs4(c, in[1]);
            ++in;
            *out++ = char(0xf0 | (u >> 18));
            *out++ = char(0x80 | ((u >> 12) & 0x3f));
            *out++ = char(0x80 | ((u >> 6) & 0x3f));
            *out++ = char(0x80 | (u & 0x3f));
        } else {
            // A lone surrogate becomes U+FFFD, as QStringEncoder writes it.
            if (QChar::isSurrogate(c))
                c = 0xfffd;
            *out++ = char(0xe0 | (c >> 12));
            *out++ = char(0x80 | ((c >> 6) & 0x3f));
            *out++ = char(0x80 | (c & 0x3f));
        }
    }
    const auto length = quint32(out - start);
    // The header is minimal, as msgpackr writes it: when the text came out shorter than the
    // worst case, it moves up behind a smaller header.
    const int needed = length < 32 ? 1 : length <= 0xff ? 2 : length <= 0xffff ? 3 : 5;
    if (needed < headerSize)
        std::memmove(m_data + m_size + needed, start, length);
    char *p = m_data + m_size;
    switch (needed) {
    case 1:
        p[0] = char(0xa0 | length);
        break;
    case 2:
        p[0] = char(0xd9);
        p[1] = char(length);
        break;
    case 3:
        p[0] = char(0xda);
        qToBigEndian(quint16(length), p + 1);
        break;
    default:
        p[0] = char(0xdb);
        qToBigEndian(length, p + 1);
        break;
    }
    m_size += needed + length;
}

void MsgPackWriter::binary(QByteArrayView bytes)
{
    header(0, 0, 0xc4, 0xc5, 0xc6, quint32(bytes.size()));
    append(bytes.data(), bytes.size());
}

void MsgPackWriter::uinteger(quint64 v)
{
    ensure(9);
    char *p = m_data + m_size;
    if (v < 0x80) {
        p[0] = char(v);
        m_size += 1;
    } else if (v <= 0xff) {
        p[0] = char(0xcc);
        p[1] = char(v);
        m_size += 2;
    } else if (v <= 0xffff) {
        p[0] = char(0xcd);
        qToBigEndian(quint16(v), p + 1);
        m_size += 3;
    } else if (v <= 0xffffffffu) {
        p[0] = char(0xce);
        qToBigEndian(quint32(v), p + 1);
        m_size += 5;
    } else {
        p[0] = char(0xcf);
        qToBigEndian(v, p + 1);
        m_size += 9;
    }
}

// msgpackr's rule: int32/uint32 range in the smallest int form, larger magnitudes as float64
// while exact. The TopGun client turns int64/uint64 into BigInt, which breaks its arithmetic.
void MsgPackWriter::integer(qint64 v)
{
    if (v >= 0) {
        if (v <= qint64(std::numeric_limits<quint32>::max()) || v > kMaxExactDouble)
            uinteger(quint64(v));
        else
            float64(double(v));
        return;
    }
    if (v < std::numeric_limits<qint32>::min()) {
        if (v >= -kMaxExactDouble) {
            float64(double(v));
            return;
        }
    }
    ensure(9);
    char *p = m_data + m_size;
    if (v >= -32) {
        p[0] = char(v);
        m_size += 1;
    } else if (v >= std::numeric_limits<qint8>::min()) {
        p[0] = char(0xd0);
        p[1] = char(v);
        m_size += 2;
    } else if (v >= std::numeric_limits<qint16>::min()) {
        p[0] = char(0xd1);
        qToBigEndian(qint16(v), p + 1);
        m_size += 3;
    } else if (v >= std::numeric_limits<qint32>::min()) {
        p[0] = char(0xd2);
        qToBigEndian(qint32(v), p + 1);
        m_size += 5;
    } else {
        p[0] = char(0xd3);
        qToBigEndian(v, p + 1);
        m_size += 9;
    }
}

// Always float64, even for an integral double: msgpack-cxx's pack_double would write an int,
// which would hand the TopGun client a BigInt for a large number.
void MsgPackWriter::float64(double v)
{
    ensure(9);
    char *p = m_data + m_size;
    p[0] = char(0xcb);
    quint64 bits;
    std::memcpy(&bits, &v, sizeof bits);
    qToBigEndian(bits, p + 1);
    m_size += 9;
}

void MsgPackWriter::value(const QCborValue &v)
{
    switch (v.type()) {
    case QCborValue::Integer:
        integer(v.toInteger());
        return;
    case QCborValue::Double:
        float64(v.toDouble());
        return;
    case QCborValue::String:
        string(v.toString());
        return;
    case QCborValue::ByteArray:
        binary(v.toByteArray());
        return;
    case QCborValue::Array: {
        const QCborArray array = v.toArray();
        arrayHeader(quint32(array.size()));
        for (const QCborValue &element : array)
            value(element);
        return;
    }
    case QCborValue::Map: {
        const QCborMap map = v.toMap();
        mapHeader(quint32(map.size()));
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            value(it.key());
            value(it.value());
        }
        return;
    }
    case QCborValue::False:
        boolean(false);
        return;
    case QCborValue::True:
        boolean(true);
        return;
    case QCborValue::Undefined:
        // fixext1 type 0: msgpackr's JavaScript undefined.
        append("\xd4\x00\x00", 3);
        return;
    default:
        break;
    }
    if (v.isTag()) {
        tagged(v);
        return;
    }
    nil();
}

void MsgPackWriter::tagged(const QCborValue &v)
{
    const auto tag = quint64(v.tag());
    const QCborValue content = v.taggedValue();
    if (content.isByteArray()) {
        const QByteArray bytes = content.toByteArray();
        constexpr auto base = qint64(MsgPackCodec::kExtTagBase);
        if (qint64(tag) >= base - 128 && qint64(tag) <= base + 127) {
            const auto type = char(qint64(tag) - base);
            const auto size = quint32(bytes.size());
            ensure(6);
            char *p = m_data + m_size;
            qsizetype used = 0;
            switch (size) {
            case 1:
                p[0] = char(0xd4);
                used = 1;
                break;
            case 2:
                p[0] = char(0xd5);
                used = 1;
                break;
            case 4:
                p[0] = char(0xd6);
                used = 1;
                break;
            case 8:
                p[0] = char(0xd7);
                used = 1;
                break;
            case 16:
                p[0] = char(0xd8);
                used = 1;
                break;
            default:
                if (size <= 0xff) {
                    p[0] = char(0xc7);
                    p[1] = char(size);
                    used = 2;
                } else if (size <= 0xffff) {
                    p[0] = char(0xc8);
                    qToBigEndian(quint16(size), p + 1);
                    used = 3;
                } else {
                    p[0] = char(0xc9);
                    qToBigEndian(size, p + 1);
                    used = 5;
                }
            }
            p[used] = type;
            m_size += used + 1;
            append(bytes.constData(), bytes.size());
            return;
        }
        if (tag == quint64(QCborKnownTags::PositiveBignum)) {
            positiveBignum(bytes);
            return;
        }
        if (tag == quint64(QCborKnownTags::NegativeBignum)) {
            negativeBignum(bytes);
            return;
        }
    }
    // Other tags (dates, URLs, …) have no MessagePack form: their content goes on the wire.
    value(content);
}

void MsgPackWriter::positiveBignum(const QByteArray &bytes)
{
    if (bytes.size() > 8) {
        float64(bignumToDouble(bytes));
        return;
    }
    const quint64 v = bignumToUInt64(bytes);
    if (v <= quint64(std::numeric_limits<qint64>::max()))
        integer(qint64(v));
    else
        uinteger(v);
}

void MsgPackWriter::negativeBignum(const QByteArray &bytes)
{
    // CBOR stores -1 - n.
    if (bytes.size() > 8) {
        float64(-1.0 - bignumToDouble(bytes));
        return;
    }
    const quint64 n = bignumToUInt64(bytes);
    if (n <= quint64(std::numeric_limits<qint64>::max()))
        integer(-1 - qint64(n));
    else
        float64(-1.0 - double(n));
}

} // namespace wingman::wire

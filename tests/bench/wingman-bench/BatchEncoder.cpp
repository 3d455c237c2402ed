#include "BatchEncoder.h"

#include <QDateTime>

#include <charconv>
#include <cstring>

namespace wingman::bench {

namespace {

// MessagePack writers over a buffer the caller sized; each returns the end of what it wrote.
char *putBigEndian(char *p, quint64 value, int width)
{
    for (int i = width - 1; i >= 0; --i)
        *p++ = char(value >> (8 * i));
    return p;
}

char *putHeader(char *p, quint32 n, quint32 fixLimit, uchar fixBase, uchar code16, uchar code32)
{
    if (n < fixLimit) {
        *p++ = char(fixBase | n);
        return p;
    }
    *p++ = char(n <= 0xffff ? code16 : code32);
    return putBigEndian(p, n, n <= 0xffff ? 2 : 4);
}

char *putMapHeader(char *p, quint32 n)
{
    return putHeader(p, n, 16, 0x80, 0xde, 0xdf);
}
char *putArrayHeader(char *p, quint32 n)
{
    return putHeader(p, n, 16, 0x90, 0xdc, 0xdd);
}

char *putStrHeader(char *p, size_t n)
{
    if (n < 32) {
        *p++ = char(0xa0 | n);
    } else if (n <= 0xff) {
        *p++ = char(0xd9);
        *p++ = char(n);
    } else {
        p = putHeader(p, quint32(n), 0, 0, 0xda, 0xdb);
    }
    return p;
}

char *putBytes(char *p, std::string_view bytes)
{
    std::memcpy(p, bytes.data(), bytes.size());
    return p + bytes.size();
}

char *putStr(char *p, std::string_view text)
{
    return putBytes(putStrHeader(p, text.size()), text);
}

// The smallest unsigned form, as msgpackr writes integers within uint32.
char *putUint(char *p, quint64 value)
{
    if (value < 0x80) {
        *p++ = char(value);
        return p;
    }
    const int width = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffff ? 4 : 8;
    *p++ = char(width == 1 ? 0xcc : width == 2 ? 0xcd : width == 4 ? 0xce : 0xcf);
    return putBigEndian(p, value, width);
}

// Always float64 (0xcb), as the TopGun client writes epoch millis.
char *putFloat64(char *p, double value)
{
    quint64 bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    *p++ = char(0xcb);
    return putBigEndian(p, bits, 8);
}

constexpr size_t kMaxStrHeader = 5;
constexpr size_t kMaxUint = 9;
constexpr size_t kMaxDecimal = 20; // digits of a quint64

} // namespace

ConstantBytes &ConstantBytes::str(std::string_view text)
{
    return put(kMaxStrHeader + text.size(), [&](char *p) { return putStr(p, text); });
}

ConstantBytes &ConstantBytes::map(quint32 n)
{
    return put(5, [&](char *p) { return putMapHeader(p, n); });
}

ConstantBytes &ConstantBytes::array(quint32 n)
{
    return put(5, [&](char *p) { return putArrayHeader(p, n); });
}

ConstantBytes &ConstantBytes::boolean(bool value)
{
    return put(1, [&](char *p) {
        *p = char(value ? 0xc3 : 0xc2);
        return p + 1;
    });
}

template <typename Writer> ConstantBytes &ConstantBytes::put(size_t bound, Writer write)
{
    const size_t size = m_bytes.size();
    m_bytes.resize(size + bound);
    m_bytes.resize(size_t(write(m_bytes.data() + size) - m_bytes.data()));
    return *this;
}

BatchEncoder::BatchEncoder(int connection, const QString &mapName, int batchSize)
    : m_keyPrefix(QStringLiteral("c%1-").arg(connection).toStdString())
    , m_batchSize(batchSize)
{
    const std::string map = mapName.toStdString();
    const std::string nodeId = QStringLiteral("bench-%1").arg(connection).toStdString();
    m_header.map(2)
        .str("type")
        .str("OP_BATCH")
        .str("payload")
        .map(1)
        .str("ops")
        .array(quint32(batchSize));
    m_beforeId.map(5).str("id");
    m_beforeKey.str("mapName").str(map).str("key");
    m_beforeN.str("opType").str("PUT").str("record").map(2).str("value").map(3).str("n");
    m_beforeMillis.str("text")
        .str("bench-payload-0123")
        .str("flag")
        .boolean(true) // ~40 bytes
        .str("timestamp")
        .map(3)
        .str("millis");
    m_beforeCounter.str("counter");
    m_tail.str("nodeId").str(nodeId);
    m_opBound = m_beforeId.bytes().size() + m_beforeKey.bytes().size() + m_beforeN.bytes().size()
        + m_beforeMillis.bytes().size() + m_beforeCounter.bytes().size() + m_tail.bytes().size()
        + (kMaxStrHeader + kMaxDecimal) + (kMaxStrHeader + m_keyPrefix.size() + kMaxDecimal)
        + 3 * kMaxUint;
}

QByteArray BatchEncoder::encode(quint64 firstId)
{
    QByteArray frame(
        qsizetype(m_header.bytes().size() + size_t(m_batchSize) * m_opBound), Qt::Uninitialized);
    char *p = putBytes(frame.data(), m_header.bytes());
    const double millis = double(QDateTime::currentMSecsSinceEpoch());
    for (int i = 0; i < m_batchSize; ++i) {
        const quint64 id = firstId + quint64(i);
        char digits[kMaxDecimal];
        const std::string_view idText(
            digits, size_t(std::to_chars(digits, digits + sizeof digits, id).ptr - digits));
        p = putBytes(p, m_beforeId.bytes());
        p = putStr(p, idText);
        p = putBytes(p, m_beforeKey.bytes());
        p = putStrHeader(p, m_keyPrefix.size() + idText.size());
        p = putBytes(putBytes(p, m_keyPrefix), idText);
        p = putBytes(p, m_beforeN.bytes());
        p = putUint(p, id);
        p = putBytes(p, m_beforeMillis.bytes());
        p = putFloat64(p, millis);
        p = putBytes(p, m_beforeCounter.bytes());
        p = putUint(p, ++m_counter);
        p = putBytes(p, m_tail.bytes());
    }
    frame.truncate(p - frame.constData());
    return frame;
}

} // namespace wingman::bench

#include "wire/MsgPackCodec.h"

#include "wire/MsgPackWriter.h"

#include <QCborArray>
#include <QCborMap>
#include <QCborStreamWriter>
#include <QHash>
#include <QVarLengthArray>
#include <QtEndian>

#include <msgpack.hpp>

#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace wingman::wire {

namespace {

// Maps up to this many entries are built with QCborMap's own insert, which searches the keys
// linearly; larger ones take a linear-time path so that a hostile map cannot cost O(n^2).
constexpr quint32 kDirectMapEntries = 32;

// How many leading bytes are ASCII, eight at a time.
size_t asciiPrefix(const char *data, size_t size)
{
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        quint64 word;
        std::memcpy(&word, data + i, 8);
        if (word & 0x8080808080808080ull)
            break;
    }
    while (i < size && !(static_cast<unsigned char>(data[i]) & 0x80))
        ++i;
    return i;
}

bool isAscii(const char *data, size_t size)
{
    return asciiPrefix(data, size) == size;
}

// Past the ASCII prefix: each sequence checked against the ranges of RFC 3629's table.
bool isValidUtf8Tail(const uchar *s, size_t size)
{
    size_t i = 0;
    while (i < size) {
        const uchar b = s[i];
        if (b < 0x80) {
            ++i;
            continue;
        }
        size_t length = 0;
        uchar low = 0x80;
        uchar high = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) {
            length = 2;
        } else if (b >= 0xe0 && b <= 0xef) {
            length = 3;
            if (b == 0xe0)
                low = 0xa0; // overlong
            else if (b == 0xed)
                high = 0x9f; // surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
            length = 4;
            if (b == 0xf0)
                low = 0x90; // overlong
            else if (b == 0xf4)
                high = 0x8f; // beyond U+10FFFF
        } else {
            return false;
        }
        if (size - i < length || s[i + 1] < low || s[i + 1] > high)
            return false;
        for (size_t k = 2; k < length; ++k) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        }
        i += length;
    }
    return true;
}

bool isValidUtf8(const char *data, size_t size)
{
    const size_t ascii = asciiPrefix(data, size);
    return isValidUtf8Tail(reinterpret_cast<const uchar *>(data) + ascii, size - ascii);
}

QByteArray bigEndian64(quint64 value)
{
    QByteArray bytes(8, Qt::Uninitialized);
    for (int i = 7; i >= 0; --i) {
        bytes[i] = char(value & 0xff);
        value >>= 8;
    }
    return bytes;
}

// A map key waiting for its value. ASCII string keys, by far the common case, stay a view into
// the input so that QCborMap can take them as Latin-1 without building a QString first.
struct PendingKey {
    QByteArrayView ascii;
    QCborValue value;
    bool isAscii = false;

    QCborValue toValue() &&
    {
        if (isAscii)
            return QCborValue(QLatin1StringView(ascii.data(), ascii.size()));
        return std::move(value);
    }
};

struct Container {
    enum Kind { Array, Map, LargeMap };

    Kind kind = Array;
    bool inKey = false;
    QCborArray array;
    QCborMap map;
    PendingKey key;
    // LargeMap only: entries in first-seen order, and where each key sits (last value wins).
    std::vector<std::pair<QCborValue, QCborValue>> entries;
    QHash<QCborValue, size_t> positions;
};

// Builds a map without QCborMap's per-insert key search: QCborValue::fromCbor appends entries
// as they come, so the keys go through CBOR with placeholder values and the values are then
// moved into place.
QCborMap buildLargeMap(std::vector<std::pair<QCborValue, QCborValue>> &entries)
{
    QByteArray keys;
    {
        QCborStreamWriter writer(&keys);
        writer.startMap(quint64(entries.size()));
        for (const auto &entry : entries) {
            entry.first.toCbor(writer);
            writer.append(nullptr);
        }
        writer.endMap();
    }
    QCborMap map = QCborValue::fromCbor(keys).toMap();
    auto it = map.begin();
    for (auto &entry : entries) {
        it.value() = std::move(entry.second);
        ++it;
    }
    return map;
}

// msgpack-cxx visitor that builds the QCborValue while parsing and refuses, before allocating,
// whatever exceeds the limits.
class ValueBuilder : public msgpack::null_visitor
{
public:
    ValueBuilder(size_t inputSize, const DecodeLimits &limits)
        : m_inputSize(inputSize)
        , m_limits(limits)
    {
        m_stack.reserve(size_t(qBound(1, limits.maxDepth, 64)));
    }

    QCborValue takeValue() { return std::move(m_root); }
    const QString &error() const { return m_error; }
    bool invalidUtf8() const { return m_invalidUtf8; }

    bool visit_nil() { return add(QCborValue(nullptr)); }
    bool visit_boolean(bool v) { return add(QCborValue(v)); }
    bool visit_positive_integer(uint64_t v)
    {
        if (v <= uint64_t(std::numeric_limits<qint64>::max()))
            return add(QCborValue(qint64(v)));
        return add(QCborValue(QCborKnownTags::PositiveBignum, bigEndian64(v)));
    }
    bool visit_negative_integer(int64_t v) { return add(QCborValue(qint64(v))); }
    bool visit_float32(float v) { return add(QCborValue(double(v))); }
    bool visit_float64(double v) { return add(QCborValue(v)); }
    bool visit_str(const char *data, uint32_t size)
    {
        if (!m_stack.empty() && m_stack.back().inKey && m_stack.back().kind == Container::Map
            && isAscii(data, size)) {
            PendingKey &key = m_stack.back().key;
            key.ascii = QByteArrayView(data, qsizetype(size));
            key.isAscii = true;
            return true;
        }
        if (isAscii(data, size))
            return add(QCborValue(QLatin1StringView(data, qsizetype(size))));
        if (isValidUtf8(data, size))
            return add(QCborValue(QString::fromUtf8(data, qsizetype(size))));
        m_invalidUtf8 = true;
        return add(
            QCborValue(QCborTag(MsgPackCodec::kInvalidUtf8Tag), QByteArray(data, qsizetype(size))));
    }
    bool visit_bin(const char *data, uint32_t size)
    {
        return add(QCborValue(QByteArray(data, qsizetype(size))));
    }
    bool visit_ext(const char *data, uint32_t size)
    {
        // data[0] is the ext type; type 0 with one byte is JavaScript `undefined`, whichever ext
        // header spells it (crdt::Value::isUndefinedPacked reads packed bytes the same way).
        const auto type = static_cast<qint8>(data[0]);
        if (type == 0 && size == 2)
            return add(QCborValue(QCborValue::Undefined));
        const QCborTag tag { quint64(qint64(MsgPackCodec::kExtTagBase) + type) };
        return add(QCborValue(tag, QByteArray(data + 1, qsizetype(size) - 1)));
    }

    bool start_array(uint32_t size) { return enter(Container::Array, size); }
    bool end_array() { return leave(); }
    bool start_map(uint32_t size) { return enter(Container::Map, size); }
    bool start_map_key()
    {
        m_stack.back().inKey = true;
        return true;
    }
    bool start_map_value()
    {
        m_stack.back().inKey = false;
        return true;
    }
    bool end_map() { return leave(); }

    void parse_error(size_t, size_t errorOffset)
    {
        fail(QStringLiteral("invalid MessagePack byte at offset %1").arg(errorOffset));
    }
    void insufficient_bytes(size_t, size_t)
    {
        fail(QStringLiteral("truncated MessagePack document"));
    }

    bool fail(const QString &reason)
    {
        if (m_error.isEmpty())
            m_error = reason;
        return false;
    }

private:
    bool enter(Container::Kind kind, uint32_t size)
    {
        if (qsizetype(m_stack.size()) >= m_limits.maxDepth)
            return fail(QStringLiteral("nesting deeper than %1 levels").arg(m_limits.maxDepth));
        m_elements += size;
        if (m_elements > quint64(m_limits.maxElements))
            return fail(QStringLiteral("more than %1 elements").arg(m_limits.maxElements));
        // Every element takes at least one byte of its own, so declared counts beyond the input
        // size are refused before anything is reserved for them.
        m_declaredValues += kind == Container::Array ? quint64(size) : 2 * quint64(size);
        if (m_declaredValues >= m_inputSize)
            return fail(QStringLiteral("declared length exceeds the input"));

        if (kind == Container::Map && size > kDirectMapEntries)
            kind = Container::LargeMap;
        m_stack.emplace_back();
        m_stack.back().kind = kind;
        if (kind == Container::LargeMap)
            m_stack.back().entries.reserve(size);
        return true;
    }

    bool leave()
    {
        Container &top = m_stack.back();
        QCborValue value;
        switch (top.kind) {
        case Container::Array:
            value = QCborValue(std::move(top.array));
            break;
        case Container::Map:
            value = QCborValue(std::move(top.map));
            break;
        case Container::LargeMap:
            value = QCborValue(buildLargeMap(top.entries));
            break;
        }
        m_stack.pop_back();
        return add(std::move(value));
    }

    bool add(QCborValue &&value)
    {
        if (m_stack.empty()) {
            m_root = std::move(value);
            return true;
        }
        Container &top = m_stack.back();
        if (top.kind == Container::Array) {
            top.array.append(std::move(value));
            return true;
        }
        if (top.inKey) {
            top.key.value = std::move(value);
            top.key.isAscii = false;
            return true;
        }
        PendingKey key = std::exchange(top.key, {});
        // An undefined value means the field is absent (msgpackr writes undefined fields).
        if (value.isUndefined())
            return true;
        if (top.kind == Container::Map) {
            if (key.isAscii)
                top.map[QLatin1StringView(key.ascii.data(), key.ascii.size())] = std::move(value);
            else
                top.map[key.value] = std::move(value);
            return true;
        }
        QCborValue keyValue = std::move(key).toValue();
        const auto found = top.positions.constFind(keyValue);
        if (found != top.positions.cend()) {
            top.entries[*found].second = std::move(value);
            return true;
        }
        top.positions.insert(keyValue, top.entries.size());
        top.entries.emplace_back(std::move(keyValue), std::move(value));
        return true;
    }

    const size_t m_inputSize;
    const DecodeLimits &m_limits;
    std::vector<Container> m_stack;
    QCborValue m_root;
    QString m_error;
    quint64 m_elements = 0;
    quint64 m_declaredValues = 0;
    bool m_invalidUtf8 = false;
};

DecodeResult failure(const QString &reason)
{
    DecodeResult result;
    result.error.reason = reason;
    return result;
}

} // namespace

DecodeResult MsgPackCodec::decode(QByteArrayView bytes, const DecodeLimits &limits)
{
    if (bytes.isEmpty())
        return failure(QStringLiteral("empty MessagePack document"));
    if (bytes.size() > limits.maxBytes)
        return failure(QStringLiteral("document larger than %1 bytes").arg(limits.maxBytes));

    ValueBuilder builder(size_t(bytes.size()), limits);
    size_t offset = 0;
    bool parsed = false;
    try {
        parsed = msgpack::parse(bytes.data(), size_t(bytes.size()), offset, builder);
    } catch (const std::exception &e) {
        builder.fail(QStringLiteral("invalid MessagePack: %1").arg(QLatin1StringView(e.what())));
    } catch (...) {
        builder.fail(QStringLiteral("invalid MessagePack"));
    }
    if (!parsed)
        return failure(
            builder.error().isEmpty() ? QStringLiteral("invalid MessagePack") : builder.error());
    if (offset != size_t(bytes.size()))
        return failure(QStringLiteral("trailing bytes after the MessagePack document at offset %1")
                           .arg(offset));

    DecodeResult result;
    result.value = builder.takeValue();
    result.ok = true;
    result.invalidUtf8 = builder.invalidUtf8();
    return result;
}

bool MsgPackCodec::isValidUtf8(QByteArrayView bytes)
{
    return wire::isValidUtf8(bytes.data(), size_t(bytes.size()));
}

bool MsgPackCodec::isInvalidString(const QCborValue &value)
{
    return value.isTag() && value.tag() == QCborTag(kInvalidUtf8Tag);
}

bool MsgPackCodec::containsInvalidString(const QCborValue &value)
{
    if (isInvalidString(value))
        return true;
    if (value.isArray()) {
        const QCborArray array = value.toArray();
        for (const QCborValue &item : array) {
            if (containsInvalidString(item))
                return true;
        }
    } else if (value.isMap()) {
        const QCborMap map = value.toMap();
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            if (containsInvalidString(it.key()) || containsInvalidString(it.value()))
                return true;
        }
    } else if (value.isTag()) {
        return containsInvalidString(value.taggedValue());
    }
    return false;
}

qsizetype MsgPackCodec::valueSize(QByteArrayView bytes, const DecodeLimits &limits)
{
    const auto *data = reinterpret_cast<const uchar *>(bytes.data());
    const qsizetype size = bytes.size();
    qsizetype at = 0;
    qsizetype elements = 0;
    // Values still to read at each open container level; the document itself is one value.
    QVarLengthArray<quint64, 16> pending { 1 };
    const auto big = [&](int width) -> quint64 {
        quint64 v = 0;
        for (int i = 0; i < width; ++i)
            v = (v << 8) | data[at + 1 + i];
        return v;
    };
    while (!pending.isEmpty()) {
        if (pending.last() == 0) {
            pending.removeLast();
            continue;
        }
        --pending.last();
        if (at >= size)
            return -1;
        const uchar b = data[at];
        quint64 skip = 0; // payload bytes after the header
        qsizetype header = 1; // header bytes, the type byte included
        quint64 count = 0; // array elements or map entries
        bool container = false;
        bool map = false;
        const auto need = [&](int width) { return at + 1 + width <= size; };
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        } else if ((b & 0xe0) == 0xa0) {
            skip = b & 0x1f;
        } else if ((b & 0xf0) == 0x90 || (b & 0xf0) == 0x80) {
            count = b & 0x0f;
            container = true;
            map = (b & 0xf0) == 0x80;
        } else {
            switch (b) {
            case 0xcc:
            case 0xd0:
                header = 2;
                break;
            case 0xcd:
            case 0xd1:
                header = 3;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                header = 5;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                header = 9;
                break;
            case 0xd4:
                header = 2;
                skip = 1;
                break;
            case 0xd5:
                header = 2;
                skip = 2;
                break;
            case 0xd6:
                header = 2;
                skip = 4;
                break;
            case 0xd7:
                header = 2;
                skip = 8;
                break;
            case 0xd8:
                header = 2;
                skip = 16;
                break;
            case 0xc4:
            case 0xd9:
                if (!need(1))
                    return -1;
                header = 2;
                skip = big(1);
                break;
            case 0xc5:
            case 0xda:
                if (!need(2))
                    return -1;
                header = 3;
                skip = big(2);
                break;
            case 0xc6:
            case 0xdb:
                if (!need(4))
                    return -1;
                header = 5;
                skip = big(4);
                break;
            case 0xc7:
                if (!need(1))
                    return -1;
                header = 3;
                skip = big(1);
                break;
            case 0xc8:
                if (!need(2))
                    return -1;
                header = 4;
                skip = big(2);
                break;
            case 0xc9:
                if (!need(4))
                    return -1;
                header = 6;
                skip = big(4);
                break;
            case 0xdc:
            case 0xde:
                if (!need(2))
                    return -1;
                header = 3;
                count = big(2);
                container = true;
                map = b == 0xde;
                break;
            case 0xdd:
            case 0xdf:
                if (!need(4))
                    return -1;
                header = 5;
                count = big(4);
                container = true;
                map = b == 0xdf;
                break;
            default:
                return -1; // 0xc1 is never used
            }
        }
        if (skip > quint64(limits.maxBytes) || at + header + qsizetype(skip) > size)
            return -1;
        at += header + qsizetype(skip);
        if (container) {
            elements += qsizetype(count);
            if (elements > limits.maxElements || pending.size() > limits.maxDepth)
                return -1;
            pending.append(map ? 2 * count : count);
        }
    }
    return at;
}

QByteArray MsgPackCodec::encode(const QCborValue &value)
{
    QByteArray out;
    MsgPackWriter(out).value(value);
    return out;
}

} // namespace wingman::wire

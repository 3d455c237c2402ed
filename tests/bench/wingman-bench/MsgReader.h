#pragma once

#include <QCborMap>
#include <QString>

#include <cstring>
#include <functional>
#include <optional>
#include <string_view>

namespace wingman::bench {

// A bounds-checked cursor over one MessagePack document that reads headers and scalars and skips
// whole values without building them.
class MsgReader
{
public:
    explicit MsgReader(std::string_view bytes)
        : m_p(reinterpret_cast<const uchar *>(bytes.data()))
        , m_end(m_p + bytes.size())
    { }

    std::optional<quint32> mapHeader()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        if ((b & 0xf0) == 0x80) {
            ++m_p;
            return quint32(b & 0x0f);
        }
        if (b != 0xde && b != 0xdf)
            return std::nullopt;
        ++m_p;
        return readLength(b == 0xde ? 2 : 4);
    }

    std::optional<quint32> arrayHeader()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        if ((b & 0xf0) == 0x90) {
            ++m_p;
            return quint32(b & 0x0f);
        }
        if (b != 0xdc && b != 0xdd)
            return std::nullopt;
        ++m_p;
        return readLength(b == 0xdc ? 2 : 4);
    }

    // A str value; nothing is consumed when the next value is not a str.
    std::optional<std::string_view> string()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        std::optional<quint32> length;
        if ((b & 0xe0) == 0xa0) {
            ++m_p;
            length = quint32(b & 0x1f);
        } else if (b >= 0xd9 && b <= 0xdb) {
            ++m_p;
            length = readLength(1 << (b - 0xd9));
        }
        return length ? take(*length) : std::nullopt;
    }

    // A bin value; nothing is consumed when the next value is not a bin.
    std::optional<std::string_view> binary()
    {
        if (m_p >= m_end || *m_p < 0xc4 || *m_p > 0xc6)
            return std::nullopt;
        const int width = 1 << (*m_p++ - 0xc4);
        const auto length = readLength(width);
        return length ? take(*length) : std::nullopt;
    }

    std::optional<bool> boolean()
    {
        if (m_p >= m_end || (*m_p != 0xc2 && *m_p != 0xc3))
            return std::nullopt;
        return *m_p++ == 0xc3;
    }

    // A non-negative integer written as any int type or as an integral float.
    std::optional<quint64> unsignedInteger()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        if (b <= 0x7f) {
            ++m_p;
            return quint64(b);
        }
        if (b >= 0xcc && b <= 0xcf) {
            ++m_p;
            return readBigEndian(1 << (b - 0xcc));
        }
        if (b >= 0xd0 && b <= 0xd3) { // int8..64: non-negative only
            ++m_p;
            const int width = 1 << (b - 0xd0);
            const auto raw = readBigEndian(width);
            if (!raw || (*raw >> (8 * width - 1)) != 0)
                return std::nullopt;
            return raw;
        }
        if (b == 0xcb) {
            ++m_p;
            const auto raw = readBigEndian(8);
            if (!raw)
                return std::nullopt;
            double value = 0;
            std::memcpy(&value, &*raw, sizeof value);
            if (!(value >= 0 && value < 18446744073709551616.0) || value != double(quint64(value)))
                return std::nullopt;
            return quint64(value);
        }
        return std::nullopt;
    }

    // Skips one whole value (with everything nested in it); false on malformed input.
    bool skip()
    {
        quint64 pending = 1;
        while (pending > 0) {
            --pending;
            if (m_p >= m_end)
                return false;
            const uchar b = *m_p++;
            std::optional<quint32> n;
            if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
                continue;
            if (b <= 0x8f) {
                pending += 2u * (b & 0x0f);
            } else if (b <= 0x9f) {
                pending += b & 0x0f;
            } else if (b <= 0xbf) {
                if (!advance(b & 0x1f))
                    return false;
            } else if (b >= 0xc4 && b <= 0xc6) { // bin
                if (!(n = readLength(1 << (b - 0xc4))) || !advance(*n))
                    return false;
            } else if (b >= 0xc7 && b <= 0xc9) { // ext: length, type, data
                if (!(n = readLength(1 << (b - 0xc7))) || !advance(quint64(*n) + 1))
                    return false;
            } else if (b >= 0xca && b <= 0xd3) { // float32/64, uint8..64, int8..64
                static constexpr int widths[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 };
                if (!advance(widths[b - 0xca]))
                    return false;
            } else if (b >= 0xd4 && b <= 0xd8) { // fixext: type, 1..16 bytes
                if (!advance(1 + (1 << (b - 0xd4))))
                    return false;
            } else if (b >= 0xd9 && b <= 0xdb) { // str8/16/32
                if (!(n = readLength(1 << (b - 0xd9))) || !advance(*n))
                    return false;
            } else if (b == 0xdc || b == 0xdd) {
                if (!(n = readLength(b == 0xdc ? 2 : 4)))
                    return false;
                pending += *n;
            } else if (b == 0xde || b == 0xdf) {
                if (!(n = readLength(b == 0xde ? 2 : 4)))
                    return false;
                pending += 2u * quint64(*n);
            } else {
                return false; // 0xc1, never used
            }
            // Every pending value needs at least a byte: a hostile count fails here, cheaply.
            if (pending > quint64(m_end - m_p))
                return false;
        }
        return true;
    }

    // Everything from the next value to the end, without consuming it.
    std::string_view rest() const
    {
        return std::string_view(reinterpret_cast<const char *>(m_p), size_t(m_end - m_p));
    }

private:
    std::optional<quint64> readBigEndian(int width)
    {
        if (m_end - m_p < width)
            return std::nullopt;
        quint64 value = 0;
        for (int i = 0; i < width; ++i)
            value = (value << 8) | *m_p++;
        return value;
    }
    std::optional<quint32> readLength(int width)
    {
        const auto value = readBigEndian(width);
        return value ? std::optional<quint32>(quint32(*value)) : std::nullopt;
    }
    bool advance(quint64 count)
    {
        if (quint64(m_end - m_p) < count)
            return false;
        m_p += count;
        return true;
    }
    std::optional<std::string_view> take(quint32 length)
    {
        if (quint64(m_end - m_p) < length)
            return std::nullopt;
        const std::string_view text(reinterpret_cast<const char *>(m_p), length);
        m_p += length;
        return text;
    }

    const uchar *m_p;
    const uchar *m_end;
};

// The top-level fields of a message the bench looks at, as spans into the frame. `payload` runs
// from the start of the payload value to the end of the frame: readers take its first value.
struct Envelope {
    std::string_view type;
    std::string_view payload;
    std::string_view data; // bin contents (BATCH)
};

// Reads the top-level map only as far as the message's type needs: a QUERY_UPDATE stops at
// `type`; a SERVER_EVENT, SERVER_BATCH_EVENT or OP_ACK at the start of `payload`.
std::optional<Envelope> scanEnvelope(std::string_view message);
// From the value of `field` in the encoded map at the start of `map` to the end of the input;
// nullopt when absent or malformed.
std::optional<std::string_view> findField(std::string_view map, std::string_view field);
// What the lag of a bench record needs from a SERVER_EVENT payload (one event map): the writer
// connection of its key "c<conn>-<id>" and its record's timestamp millis.
struct EventStamp {
    quint64 connection = 0;
    quint64 millis = 0;
};
std::optional<EventStamp> eventStamp(std::string_view event);
// An op id: a decimal string, or a number.
std::optional<quint64> opId(std::string_view encoded);
// Results of an OP_ACK that say success: false.
quint64 failedResults(std::string_view payload);
// Splits BATCH data (u32le N, then N times u32le length and the bytes) into its messages.
bool forEachBatched(std::string_view data, const std::function<void(std::string_view)> &handle);
// The whole message, through wire::MsgPackCodec.
QCborMap decodeFully(std::string_view message);
// "code 400: Invalid message format" from an ERROR / AUTH_FAIL / OP_REJECTED message.
QString describeFailure(const QCborMap &message);

} // namespace wingman::bench

#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QCborValue>
#include <QString>

namespace wingman::wire {

// Bounds that make a hostile frame cheap to refuse before it costs memory or stack.
struct DecodeLimits {
    int maxDepth = 64;
    qsizetype maxElements = 1'000'000; // array elements plus map entries, whole document
    qsizetype maxBytes = 16 * 1024 * 1024;
};

struct DecodeError {
    QString field; // dotted path of the offending field; empty for the document itself
    QString reason; // human-readable, safe to send back to a client
};

struct DecodeResult {
    QCborValue value;
    DecodeError error;
    bool ok = false;
    // Some string was not valid UTF-8 and decoded as MsgPackCodec::isInvalidString() instead.
    bool invalidUtf8 = false;
};

// MessagePack <-> QCborValue, the value type carried end to end.
//
// Mapping: nil <-> Null; bool; ints <-> Integer (uint64 above INT64_MAX <-> PositiveBignum tag
// around 8 big-endian bytes); float32/64 -> Double; str <-> String; bin <-> ByteArray;
// array <-> Array; map (any key type) <-> Map; ext type T <-> Tag(kExtTagBase + T) around the
// payload bytes. An ext of type 0 with one byte of data (JavaScript undefined: msgpackr writes
// fixext1, but ext 8/16/32 spell it too) decodes as Undefined, and a map entry whose value is
// undefined is dropped ("field absent").
//
// Encoding follows msgpackr, which the TopGun client decodes: an integer within int32/uint32 uses
// the smallest int encoding; a larger one is written as float64 when that is exact (|v| <= 2^53),
// otherwise as int64/uint64 so that no value is lost.
class MsgPackCodec
{
public:
    static constexpr quint64 kExtTagBase = 0x10000;
    static constexpr quint64 kInvalidUtf8Tag = 0x20000;

    static DecodeResult decode(QByteArrayView bytes, const DecodeLimits &limits = {});
    static QByteArray encode(const QCborValue &value);
    // The length of the one MessagePack value bytes starts with, or -1 when it is truncated,
    // malformed (reserved byte 0xc1) or beyond limits. Reads headers only, nothing is built: a
    // value with bytes.size() == valueSize(bytes) is one that decode() takes.
    static qsizetype valueSize(QByteArrayView bytes, const DecodeLimits &limits = {});

    // Strict UTF-8: no overlong forms, surrogates or code points beyond U+10FFFF. ASCII is
    // checked eight bytes at a time.
    static bool isValidUtf8(QByteArrayView bytes);
    // A decoded str that was not valid UTF-8.
    static bool isInvalidString(const QCborValue &value);
    // value or anything nested in it (map keys included) isInvalidString().
    static bool containsInvalidString(const QCborValue &value);
};

} // namespace wingman::wire

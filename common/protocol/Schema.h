#pragma once

#include "protocol/FieldCodecs.h"

#include <QByteArray>
#include <QByteArrayView>

#include <cstddef>
#include <tuple>

// Field tables for the typed message codecs (internal to common/protocol).
//
// A shape is described once, as the list of its fields in wire key order:
//
//     using OpResultFields = Fields<
//         Field<"opId", &OpResult::opId>,
//         Field<"success", &OpResult::success>,
//         Field<"achievedLevel", &OpResult::achievedLevel>,
//         Field<"error", &OpResult::error>>;  // std::optional: may be absent or nil
//
// and decoding (first wrong field named by its path), the QCborMap form and the MessagePack
// encoding are all derived from it at compile time. A field's codec (FieldCodecs.h) follows from
// its member type unless the field names one.
namespace wingman::protocol::schema {

// A field name as a template argument, kept as its MessagePack encoding (a fixstr).
template <size_t N> struct Name {
    static_assert(N >= 2 && N - 1 < 32, "field names are short ASCII");
    consteval Name(const char (&text)[N])
    {
        packed[0] = char(0xa0 | (N - 1));
        for (size_t i = 0; i + 1 < N; ++i)
            packed[i + 1] = text[i];
    }
    constexpr QLatin1StringView text() const { return QLatin1StringView(packed + 1, N - 1); }
    constexpr QByteArrayView key() const { return QByteArrayView(packed, N); }

    char packed[N] {};
};

template <typename> struct MemberOf;
template <typename C, typename T> struct MemberOf<T C::*> {
    using Class = C;
    using Type = T;
};

struct NoPacked {
};
// A field handed over as its MessagePack encoding instead of read from the struct: one value
// fanned out to many messages is encoded once.
template <Name N> struct Packed {
    QByteArrayView bytes;
};

template <Name N, auto Member, typename Codec = Default<typename MemberOf<decltype(Member)>::Type>>
struct Field {
    using Class = typename MemberOf<decltype(Member)>::Class;
    static constexpr QLatin1StringView name = N.text();

    static bool read(const QCborMap &map, Class &out, DecodeError *error, const FieldPath &path)
    {
        return Codec::read(map.value(name), out.*Member, error, FieldPath(path, name));
    }
    static bool present(const Class &in) { return isPresent<Codec>(in.*Member); }
    static void put(QCborMap &map, const Class &in)
    {
        if (present(in))
            map.insert(name, Codec::toCbor(in.*Member));
    }
    template <typename P = NoPacked>
    static void write(wire::MsgPackWriter &out, const Class &in, const P &packed = {})
    {
        if (!present(in))
            return;
        out.raw(N.key());
        if constexpr (std::is_same_v<P, Packed<N>>)
            out.raw(packed.bytes);
        else
            writeWith<Codec>(out, in.*Member);
    }
};

template <typename... F> struct Fields {
    using Class = typename std::tuple_element_t<0, std::tuple<F...>>::Class;
    static_assert((std::is_same_v<Class, typename F::Class> && ...));

    static bool decode(const QCborMap &map, Class &out, DecodeError *error, const FieldPath &path)
    {
        return (F::read(map, out, error, path) && ...);
    }
    static std::optional<Class> fromMap(
        const QCborMap &map, DecodeError *error, const FieldPath &path)
    {
        Class out;
        if (!decode(map, out, error, path))
            return std::nullopt;
        return out;
    }
    // A value that must be a map ("is required" when absent).
    static std::optional<Class> fromValue(
        const QCborValue &value, DecodeError *error, const FieldPath &path)
    {
        if (!requireMap(value, error, path))
            return std::nullopt;
        return fromMap(value.toMap(), error, path);
    }

    static void putAll(QCborMap &map, const Class &in) { (F::put(map, in), ...); }
    static QCborMap toCbor(const Class &in)
    {
        QCborMap map;
        putAll(map, in);
        return map;
    }

    static quint32 count(const Class &in) { return (quint32(F::present(in)) + ...); }
    template <typename P = NoPacked>
    static void writeAll(wire::MsgPackWriter &out, const Class &in, const P &packed = {})
    {
        (F::write(out, in, packed), ...);
    }
    template <typename P = NoPacked>
    static void write(wire::MsgPackWriter &out, const Class &in, const P &packed = {})
    {
        out.mapHeader(count(in));
        writeAll(out, in, packed);
    }
};

// A field holding a map with a table of its own.
template <typename Table> struct Nested {
    using T = typename Table::Class;
    static bool read(const QCborValue &value, T &out, DecodeError *error, const FieldPath &path)
    {
        return requireMap(value, error, path) && Table::decode(value.toMap(), out, error, path);
    }
    static QCborValue toCbor(const T &in) { return Table::toCbor(in); }
    static void write(wire::MsgPackWriter &out, const T &in) { Table::write(out, in); }
};

// A payload that is one member of the message, a shape with its own fromCbor/toCbor/write.
template <auto Member> struct Whole {
    using Class = typename MemberOf<decltype(Member)>::Class;
    using T = typename MemberOf<decltype(Member)>::Type;
    static bool decode(const QCborMap &map, Class &out, DecodeError *error, const FieldPath &path)
    {
        std::optional<T> decoded = T::fromCbor(map, error, path);
        if (!decoded)
            return false;
        out.*Member = std::move(*decoded);
        return true;
    }
    static QCborMap toCbor(const Class &in) { return (in.*Member).toCbor(); }
    static void write(wire::MsgPackWriter &out, const Class &in, NoPacked = {})
    {
        (in.*Member).write(out);
    }
};

// The optional top-level HLC `timestamp` of a server message: a field of any message struct with
// an envelopeTimestamp member, always the last one written.
template <typename M> struct EnvelopeOf {
    using Class = M;
    static bool read(const QCborMap &, const M &, DecodeError *, const FieldPath &) { return true; }
    static bool present(const M &) { return false; }
    static void put(QCborMap &, const M &) { }
    static void write(wire::MsgPackWriter &, const M &, NoPacked = {}) { }
};
template <typename M>
concept HasEnvelope = requires(const M &message)
{
    message.envelopeTimestamp;
};
template <HasEnvelope M> struct EnvelopeOf<M> : Field<"timestamp", &M::envelopeTimestamp> { };

// Checks `type` is the message's ("must be 'OP_BATCH'").
bool readType(const QCborMap &message, MessageType type, DecodeError *error);
// A message map that starts with its `type`.
QCborMap startMessage(MessageType type);
// The writer form: a map of `entries` fields, the first of them the type.
void beginMessage(wire::MsgPackWriter &out, MessageType type, quint32 entries);

// A message whose fields stand beside `type` at the top level.
template <typename M, typename... F> struct TopLevelMessage {
    using Table = Fields<F..., EnvelopeOf<M>>;

    static std::optional<M> fromCbor(const QCborMap &message, DecodeError *error)
    {
        M result;
        if (!readType(message, M::kType, error) || !Table::decode(message, result, error, {}))
            return std::nullopt;
        return result;
    }
    static QCborMap toCbor(const M &in)
    {
        QCborMap message = startMessage(M::kType);
        Table::putAll(message, in);
        return message;
    }
};

// A message {type, payload, timestamp?} whose payload is Body: a Fields table over M or a Whole
// member.
template <typename M, typename Body> struct PayloadMessage {
    using Envelope = EnvelopeOf<M>;
    static constexpr Name kPayload = "payload";

    static std::optional<M> fromCbor(const QCborMap &message, DecodeError *error)
    {
        const FieldPath root;
        const FieldPath payloadPath(root, kPayload.text());
        const QCborValue payload = message.value(kPayload.text());
        M result;
        // The envelope is checked before what the payload holds.
        if (!readType(message, M::kType, error) || !requireMap(payload, error, payloadPath)
            || !Envelope::read(message, result, error, root)
            || !Body::decode(payload.toMap(), result, error, payloadPath)) {
            return std::nullopt;
        }
        return result;
    }
    static QCborMap toCbor(const M &in)
    {
        QCborMap message = startMessage(M::kType);
        message.insert(kPayload.text(), Body::toCbor(in));
        Envelope::put(message, in);
        return message;
    }
    // == wire::MsgPackCodec::encode(toCbor(in)), built directly.
    template <typename P = NoPacked>
    static QByteArray encode(const M &in, qsizetype sizeHint, const P &packed = {})
    {
        QByteArray bytes;
        wire::MsgPackWriter out(bytes, sizeHint);
        beginMessage(out, M::kType, 2 + quint32(Envelope::present(in)));
        out.raw(kPayload.key());
        Body::write(out, in, packed);
        Envelope::write(out, in);
        out.finish();
        return bytes;
    }
};

} // namespace wingman::protocol::schema

// Defines Message::fromCbor and Message::toCbor by the message's schema.
#define WINGMAN_MESSAGE_CODEC(Message, Schema)                                                     \
    std::optional<Message> Message::fromCbor(const QCborMap &message, DecodeError *error)          \
    {                                                                                              \
        return Schema::fromCbor(message, error);                                                   \
    }                                                                                              \
    QCborMap Message::toCbor() const                                                               \
    {                                                                                              \
        return Schema::toCbor(*this);                                                              \
    }                                                                                              \
    static_assert(true)

// Defines Shape::fromCbor(map, error, path) and Shape::toCbor by its field table.
#define WINGMAN_SHAPE_CODEC(Shape, Table)                                                          \
    std::optional<Shape> Shape::fromCbor(                                                          \
        const QCborMap &map, DecodeError *error, const FieldPath &path)                            \
    {                                                                                              \
        return Table::fromMap(map, error, path);                                                   \
    }                                                                                              \
    QCborMap Shape::toCbor() const                                                                 \
    {                                                                                              \
        return Table::toCbor(*this);                                                               \
    }                                                                                              \
    static_assert(true)

#pragma once

#include "crdt/Value.h"
#include "protocol/Enums.h"
#include "protocol/FieldPath.h"
#include "protocol/Records.h"
#include "protocol/Wire.h"
#include "wire/MsgPackWriter.h"

#include <QCborArray>
#include <QCborMap>
#include <QCborValue>
#include <QLatin1StringView>
#include <QList>
#include <QMap>
#include <QString>

#include <optional>
#include <type_traits>

// How one field's value is read, turned into its QCborValue form and written with
// wire::MsgPackWriter (internal to common/protocol; Schema.h builds message codecs from these).
//
// A codec is a struct of static functions over its value type T:
//   bool read(const QCborValue &value, T &out, DecodeError *error, const FieldPath &path)
//   QCborValue toCbor(const T &value)
//   void write(wire::MsgPackWriter &out, const T &value)  (optional: out.value(toCbor(value)) if
//   not) bool present(const T &value)                    (optional: always present if not)
// `value` is undefined when the key is missing. read() records the first wrong value at `path`.
//
// Conventions: optional fields treat nil like absence. Numbers may arrive as any int or float
// type; integer fields accept a float only when it is integral.
namespace wingman::protocol::schema {

// Records `reason` for the value at `path`; returns false for use in return statements.
bool failAt(DecodeError *error, const FieldPath &path, const QString &reason);
// "is required" when value is absent, otherwise `reason`.
bool failRequired(
    const QCborValue &value, DecodeError *error, const FieldPath &path, QLatin1StringView reason);

// Any int or integral float within int64 range.
std::optional<qint64> toInt64(const QCborValue &value);

inline bool isAbsent(const QCborValue &value)
{
    return value.isUndefined();
}
inline bool isAbsentOrNull(const QCborValue &value)
{
    return value.isUndefined() || value.isNull();
}

// A nested map: "is required" when absent, "must be a map" when something else.
inline bool requireMap(const QCborValue &value, DecodeError *error, const FieldPath &path)
{
    return value.isMap() || failRequired(value, error, path, QLatin1StringView("must be a map"));
}

// Writes with the codec's write(), or through the QCborValue form where it has none.
template <typename Codec, typename T> void writeWith(wire::MsgPackWriter &out, const T &value)
{
    if constexpr (requires { Codec::write(out, value); })
        Codec::write(out, value);
    else
        out.value(Codec::toCbor(value));
}

template <typename Codec, typename T> bool isPresent(const T &value)
{
    if constexpr (requires { Codec::present(value); })
        return Codec::present(value);
    else
        return true;
}

// Failures of a string field, out of line: "is required" when absent, then as failNotText.
bool failText(const QCborValue &value, DecodeError *error, const FieldPath &path);
// "is not valid UTF-8" for a string the decoder flagged, else "must be a string".
bool failNotText(const QCborValue &value, DecodeError *error, const FieldPath &path);

struct Text {
    static bool read(
        const QCborValue &value, QString &out, DecodeError *error, const FieldPath &path)
    {
        if (!value.isString())
            return failText(value, error, path);
        out = value.toString();
        return true;
    }
    static QCborValue toCbor(const QString &text) { return text; }
    static void write(wire::MsgPackWriter &out, const QString &text) { out.string(text); }
};

// An array item: never "required", only "must be a string".
struct TextItem : Text {
    static bool read(
        const QCborValue &value, QString &out, DecodeError *error, const FieldPath &path)
    {
        if (!value.isString())
            return failNotText(value, error, path);
        out = value.toString();
        return true;
    }
};

struct Integer {
    static bool read(
        const QCborValue &value, qint64 &out, DecodeError *error, const FieldPath &path)
    {
        if (!value.isInteger())
            return readNonInteger(value, out, error, path);
        out = value.toInteger();
        return true;
    }
    static QCborValue toCbor(qint64 n) { return n; }
    static void write(wire::MsgPackWriter &out, qint64 n) { out.integer(n); }

private:
    static bool readNonInteger(
        const QCborValue &value, qint64 &out, DecodeError *error, const FieldPath &path);
};

// A timestamp counter.
struct Int32 {
    static bool read(
        const QCborValue &value, qint32 &out, DecodeError *error, const FieldPath &path);
    static QCborValue toCbor(qint32 n) { return n; }
    static void write(wire::MsgPackWriter &out, qint32 n) { out.integer(n); }
};

// A 32-bit hash; JavaScript may hand it over signed, so [-2^31, 2^32) is accepted.
struct Hash {
    static bool read(
        const QCborValue &value, quint32 &out, DecodeError *error, const FieldPath &path);
    static QCborValue toCbor(quint32 hash) { return qint64(hash); }
    static void write(wire::MsgPackWriter &out, quint32 hash) { out.integer(qint64(hash)); }
};

struct Boolean {
    static bool read(const QCborValue &value, bool &out, DecodeError *error, const FieldPath &path)
    {
        if (!value.isBool())
            return failRequired(value, error, path, QLatin1StringView("must be a boolean"));
        out = value.toBool();
        return true;
    }
    static QCborValue toCbor(bool b) { return b; }
    static void write(wire::MsgPackWriter &out, bool b) { out.boolean(b); }
};

// A map carried as it is (a query).
struct Map {
    static bool read(
        const QCborValue &value, QCborMap &out, DecodeError *error, const FieldPath &path)
    {
        if (!requireMap(value, error, path))
            return false;
        out = value.toMap();
        return true;
    }
    static QCborValue toCbor(const QCborMap &map) { return map; }
};

// Bucket character (or path) -> 32-bit hash.
struct Buckets {
    static bool read(const QCborValue &value, QMap<QString, quint32> &out, DecodeError *error,
        const FieldPath &path);
    static QCborValue toCbor(const QMap<QString, quint32> &buckets);
};

// A record's value: nil or absent is a tombstone, written back as nil. It is never wrong.
struct RecordValue {
    static QCborValue normal(const QCborValue &value)
    {
        return value.isUndefined() ? QCborValue(nullptr) : value;
    }
    template <typename T>
    static bool read(const QCborValue &value, T &out, DecodeError *, const FieldPath &)
    {
        out = normal(value);
        return true;
    }
    static QCborValue toCbor(const crdt::Value &value) { return normal(value.toCbor()); }
    static QCborValue toCbor(const QCborValue &value) { return normal(value); }
    static void write(wire::MsgPackWriter &out, const crdt::Value &value) { value.writeTo(out); }
};

// Any value, absent when undefined (an ERROR's details).
struct AnyValue {
    static bool read(const QCborValue &value, QCborValue &out, DecodeError *, const FieldPath &)
    {
        out = value;
        return true;
    }
    static bool present(const QCborValue &value) { return !value.isUndefined(); }
    static QCborValue toCbor(const QCborValue &value) { return value; }
};

// An enum by its wire name (Enums.h).
template <typename Enum> struct EnumName {
    static bool read(const QCborValue &value, Enum &out, DecodeError *error, const FieldPath &path)
    {
        QString text;
        if (!Text::read(value, text, error, path))
            return false;
        const std::optional<Enum> parsed = enumFromName<Enum>(text);
        if (!parsed)
            return failUnknown(text, error, path);
        out = *parsed;
        return true;
    }
    static QCborValue toCbor(Enum value) { return enumName(value); }
    static void write(wire::MsgPackWriter &out, Enum value) { out.latin1(enumName(value)); }

private:
    static bool failUnknown(const QString &text, DecodeError *error, const FieldPath &path)
    {
        return failAt(error, path, QStringLiteral("unknown value '%1'").arg(text));
    }
};

// Absent or nil reads as nullopt, and nullopt is left out.
template <typename Codec> struct Optional {
    template <typename T>
    static bool read(
        const QCborValue &value, std::optional<T> &out, DecodeError *error, const FieldPath &path)
    {
        if (isAbsentOrNull(value)) {
            out.reset();
            return true;
        }
        return Codec::read(value, out.emplace(), error, path);
    }
    template <typename T> static bool present(const std::optional<T> &value)
    {
        return value.has_value();
    }
    template <typename T> static QCborValue toCbor(const std::optional<T> &value)
    {
        return Codec::toCbor(*value);
    }
    template <typename T> static void write(wire::MsgPackWriter &out, const std::optional<T> &value)
    {
        writeWith<Codec>(out, *value);
    }
};

// An array whose items are read by Item at "path.<index>".
template <typename Item> struct ListOf {
    template <typename T>
    static bool read(
        const QCborValue &value, QList<T> &out, DecodeError *error, const FieldPath &path)
    {
        if (!value.isArray())
            return failRequired(value, error, path, QLatin1StringView("must be an array"));
        const QCborArray items = value.toArray();
        out.clear();
        out.reserve(items.size());
        for (qsizetype i = 0; i < items.size(); ++i) {
            if (!Item::read(items.at(i), out.emplace_back(), error, FieldPath(path, i)))
                return false;
        }
        return true;
    }
    template <typename T> static QCborValue toCbor(const QList<T> &list)
    {
        QCborArray array;
        for (const T &item : list)
            array.append(Item::toCbor(item));
        return array;
    }
    template <typename T> static void write(wire::MsgPackWriter &out, const QList<T> &list)
    {
        out.arrayHeader(quint32(list.size()));
        for (const T &item : list)
            writeWith<Item>(out, item);
    }
};

// An array item that is a shape with its own T::fromCbor(map, error, path), toCbor() and, where it
// is sent on the hot path, write(out).
template <typename T> struct MapItem {
    static bool read(const QCborValue &value, T &out, DecodeError *error, const FieldPath &path)
    {
        if (!value.isMap())
            return failAt(error, path, QStringLiteral("must be a map"));
        std::optional<T> item = T::fromCbor(value.toMap(), error, path);
        if (!item)
            return false;
        out = std::move(*item);
        return true;
    }
    static QCborValue toCbor(const T &item) { return item.toCbor(); }
    static void write(wire::MsgPackWriter &out, const T &item) { item.write(out); }
};

// A value handled by a shape's free functions (Records.h).
template <auto FromCbor, auto ToCbor, auto Write> struct Through {
    template <typename T>
    static bool read(const QCborValue &value, T &out, DecodeError *error, const FieldPath &path)
    {
        auto decoded = FromCbor(value, error, path);
        if (!decoded)
            return false;
        out = std::move(*decoded);
        return true;
    }
    template <typename T> static QCborValue toCbor(const T &value) { return ToCbor(value); }
    template <typename T> static void write(wire::MsgPackWriter &out, const T &value)
    {
        Write(out, value);
    }
};

using TimestampCodec = Through<timestampFromCbor, timestampToCbor, writeTimestamp>;
using LwwRecordCodec = Through<lwwRecordFromCbor, lwwRecordToCbor, writeLwwRecord>;
using OrRecordCodec = Through<orRecordFromCbor, orRecordToCbor, writeOrRecord>;

// The codec a field of type T gets unless its table names one: what the overload for Exactly<T>
// returns (no conversions, so a type without one must name its codec). QCborValue has none, as a
// record value and an arbitrary value differ.
template <typename T> struct Exactly { };
template <typename T> using Default = decltype(defaultCodec(Exactly<T> {}));

Text defaultCodec(Exactly<QString>);
Integer defaultCodec(Exactly<qint64>);
Int32 defaultCodec(Exactly<qint32>);
Hash defaultCodec(Exactly<quint32>);
Boolean defaultCodec(Exactly<bool>);
Map defaultCodec(Exactly<QCborMap>);
Buckets defaultCodec(Exactly<QMap<QString, quint32>>);
RecordValue defaultCodec(Exactly<crdt::Value>);
TimestampCodec defaultCodec(Exactly<crdt::Timestamp>);
LwwRecordCodec defaultCodec(Exactly<crdt::LwwRecord>);
OrRecordCodec defaultCodec(Exactly<crdt::OrRecord>);
template <typename T>
concept Enumeration = std::is_enum_v<T>;
template <Enumeration Enum> EnumName<Enum> defaultCodec(Exactly<Enum>);
template <typename T> Optional<Default<T>> defaultCodec(Exactly<std::optional<T>>);

// Array items are shapes unless said otherwise.
TextItem itemCodec(Exactly<QString>);
OrRecordCodec itemCodec(Exactly<crdt::OrRecord>);
template <typename T> MapItem<T> itemCodec(Exactly<T>);
template <typename T> ListOf<decltype(itemCodec(Exactly<T> {}))> defaultCodec(Exactly<QList<T>>);

} // namespace wingman::protocol::schema

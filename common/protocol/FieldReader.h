#pragma once

#include "protocol/FieldPath.h"
#include "protocol/MsgPackCodec.h"

#include <QCborArray>
#include <QCborMap>
#include <QCborValue>
#include <QLatin1StringView>
#include <QString>

#include <optional>
#include <utility>

namespace wingman::protocol {

// Schema checks for the fields of one map, used by the typed message decoders (internal).
//
// Conventions: a field is absent when its key is missing or its value is undefined; optional
// fields also treat nil as absent. Numbers may arrive as any int or float type; integer fields
// accept a float only when it is integral. Every check returns false after recording which
// field is wrong and why in the DecodeError.
class FieldReader
{
public:
    FieldReader(QCborMap map, const FieldPath &path, DecodeError *error)
        : m_map(std::move(map))
        , m_path(path)
        , m_error(error)
    { }

    // The path of the map itself; children are FieldPath(reader.path(), name).
    const FieldPath &path() const { return m_path; }
    DecodeError *error() const { return m_error; }
    QCborValue value(QLatin1StringView name) const { return m_map.value(name); }

    // The message's `type` is the expected name.
    bool type(QLatin1StringView expected) const;

    bool string(QLatin1StringView name, QString &out) const;
    bool optionalString(QLatin1StringView name, std::optional<QString> &out) const;
    bool integer(QLatin1StringView name, qint64 &out) const;
    bool optionalInteger(QLatin1StringView name, std::optional<qint64> &out) const;
    bool boolean(QLatin1StringView name, bool &out) const;
    bool optionalBoolean(QLatin1StringView name, std::optional<bool> &out) const;
    bool map(QLatin1StringView name, QCborMap &out) const;
    bool array(QLatin1StringView name, QCborArray &out) const;
    bool stringList(QLatin1StringView name, QStringList &out) const;
    // A 32-bit hash; JavaScript may hand it over signed, so [-2^31, 2^32) is accepted.
    bool hash(QLatin1StringView name, quint32 &out) const;

    bool fail(QLatin1StringView name, const QString &reason) const;

private:
    QCborMap m_map;
    FieldPath m_path;
    DecodeError *m_error;
};

// Records `reason` for the value at `path` itself; returns false for use in return statements.
bool failAt(DecodeError *error, const FieldPath &path, const QString &reason);

// Any int or integral float within int64 range.
std::optional<qint64> toInt64(const QCborValue &value);

// Absent: key missing or undefined. Null counts as absent only for optional fields.
inline bool isAbsent(const QCborValue &value)
{
    return value.isUndefined();
}
inline bool isAbsentOrNull(const QCborValue &value)
{
    return value.isUndefined() || value.isNull();
}

} // namespace wingman::protocol

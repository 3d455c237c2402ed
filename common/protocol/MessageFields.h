#pragma once

#include "protocol/FieldReader.h"
#include "protocol/MessageTypes.h"

#include <QCborArray>
#include <QCborMap>
#include <QLatin1StringView>
#include <QList>

#include <optional>

// Building blocks shared by the typed message codecs (internal to common/protocol).
namespace wingman::protocol::fields {

// A message map that starts with its `type`.
QCborMap startMessage(MessageType type);
// The writer form of startMessage plus putEnvelopeTimestamp: a map of `entries` fields whose
// first is the type; the envelope timestamp, when given, is written last by endMessage.
void beginMessage(MsgPackWriter &out, MessageType type, quint32 entries,
    const std::optional<crdt::Timestamp> &timestamp);
void endMessage(MsgPackWriter &out, const std::optional<crdt::Timestamp> &timestamp);
// The top-level `timestamp` of a server message, when set.
void putEnvelopeTimestamp(QCborMap &message, const std::optional<crdt::Timestamp> &timestamp);

// Checks `type` and returns the `payload` map.
bool readPayload(const FieldReader &top, MessageType type, QCborMap &payload);
bool readEnvelopeTimestamp(const FieldReader &top, std::optional<crdt::Timestamp> &out);

bool readTimestamp(const FieldReader &fields, QLatin1StringView name, crdt::Timestamp &out);
bool readLwwRecord(const FieldReader &fields, QLatin1StringView name, crdt::LwwRecord &out);
bool readOptionalLwwRecord(
    const FieldReader &fields, QLatin1StringView name, std::optional<crdt::LwwRecord> &out);
bool readOptionalOrRecord(
    const FieldReader &fields, QLatin1StringView name, std::optional<crdt::OrRecord> &out);
bool readBuckets(const FieldReader &fields, QLatin1StringView name, BucketHashes &out);
QCborMap bucketsToCbor(const BucketHashes &buckets);

template <typename Enum>
bool readEnum(const FieldReader &fields, QLatin1StringView name,
    std::optional<Enum> (*fromName)(QStringView), Enum &out)
{
    QString text;
    if (!fields.string(name, text))
        return false;
    const std::optional<Enum> parsed = fromName(text);
    if (!parsed)
        return fields.fail(name, QStringLiteral("unknown value '%1'").arg(text));
    out = *parsed;
    return true;
}

template <typename Enum>
bool readOptionalEnum(const FieldReader &fields, QLatin1StringView name,
    std::optional<Enum> (*fromName)(QStringView), std::optional<Enum> &out)
{
    if (isAbsentOrNull(fields.value(name))) {
        out.reset();
        return true;
    }
    Enum value {};
    if (!readEnum(fields, name, fromName, value))
        return false;
    out = value;
    return true;
}

// An array whose items are decoded by decode(value, error, itemPath) -> std::optional<T>.
template <typename T, typename Decode>
bool readList(const FieldReader &fields, QLatin1StringView name, QList<T> &out, Decode decode)
{
    QCborArray items;
    if (!fields.array(name, items))
        return false;
    const FieldPath listPath(fields.path(), name);
    out.clear();
    out.reserve(items.size());
    for (qsizetype i = 0; i < items.size(); ++i) {
        const FieldPath itemPath(listPath, i);
        std::optional<T> decoded = decode(items.at(i), fields.error(), itemPath);
        if (!decoded)
            return false;
        out.append(std::move(*decoded));
    }
    return true;
}

// An array of maps, each decoded by T::fromCbor(map, error, path).
template <typename T>
bool readList(const FieldReader &fields, QLatin1StringView name, QList<T> &out)
{
    return readList(fields, name, out,
        [](const QCborValue &item, DecodeError *error, const FieldPath &path) -> std::optional<T> {
            if (!item.isMap()) {
                failAt(error, path, QStringLiteral("must be a map"));
                return std::nullopt;
            }
            return T::fromCbor(item.toMap(), error, path);
        });
}

template <typename T>
bool readOptionalList(
    const FieldReader &fields, QLatin1StringView name, std::optional<QList<T>> &out)
{
    if (isAbsentOrNull(fields.value(name))) {
        out.reset();
        return true;
    }
    QList<T> list;
    if (!readList(fields, name, list))
        return false;
    out = std::move(list);
    return true;
}

template <typename T> QCborArray listToCbor(const QList<T> &items)
{
    QCborArray array;
    for (const T &item : items)
        array.append(item.toCbor());
    return array;
}

QCborArray stringsToCbor(const QStringList &strings);

} // namespace wingman::protocol::fields

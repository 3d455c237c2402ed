#include "protocol/OpBatchDecoder.h"

#include "protocol/Wire.h"

#include <QCborArray>
#include <QCborMap>
#include <QStringList>

#include <msgpack.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>

namespace wingman::protocol {

namespace {

using Object = msgpack::object;

std::string_view text(const Object &o)
{
    return { o.via.str.ptr, o.via.str.size };
}

bool isAscii(std::string_view s)
{
    for (const char c : s) {
        if (static_cast<unsigned char>(c) & 0x80)
            return false;
    }
    return true;
}

// Invalid UTF-8 is left to the generic path, which refuses the op it is in.
bool isValidText(std::string_view s)
{
    return wire::MsgPackCodec::isValidUtf8(QByteArrayView(s.data(), qsizetype(s.size())));
}

bool toQString(std::string_view s, QString &out)
{
    if (isAscii(s)) {
        out = QString::fromLatin1(s.data(), qsizetype(s.size()));
        return true;
    }
    if (!isValidText(s))
        return false;
    out = QString::fromUtf8(s.data(), qsizetype(s.size()));
    return true;
}

bool readString(const Object &o, QString &out)
{
    return o.type == msgpack::type::STR && toQString(text(o), out);
}

// The same string as last time costs no allocation.
bool readCachedString(const Object &o, QString &cache, QString &out)
{
    if (o.type != msgpack::type::STR)
        return false;
    const std::string_view s = text(o);
    const QLatin1StringView latin(s.data(), qsizetype(s.size()));
    if (!(isAscii(s) && cache == latin) && !toQString(s, cache))
        return false;
    out = cache;
    return true;
}

// The Integer field codec accepts any int, or a double that is integral and within 64 bits.
bool readInteger(const Object &o, qint64 &out)
{
    switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
        if (o.via.u64 > quint64(std::numeric_limits<qint64>::max()))
            return false;
        out = qint64(o.via.u64);
        return true;
    case msgpack::type::NEGATIVE_INTEGER:
        out = o.via.i64;
        return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: {
        const double d = o.via.f64;
        constexpr double limit = 9223372036854775808.0;
        if (!std::isfinite(d) || d != std::trunc(d) || d < -limit || d >= limit)
            return false;
        out = qint64(d);
        return true;
    }
    default:
        return false;
    }
}

template <typename Enum, typename FromName>
bool readEnum(const Object &o, FromName fromName, std::optional<Enum> &out)
{
    if (o.type != msgpack::type::STR)
        return false;
    const std::string_view s = text(o);
    out = fromName(QString::fromLatin1(s.data(), qsizetype(s.size())));
    return out.has_value();
}

bool keyIs(const Object &key, std::string_view name)
{
    return key.type == msgpack::type::STR && text(key) == name;
}

const Object *field(const Object &map, std::string_view name)
{
    for (quint32 i = 0; i < map.via.map.size; ++i) {
        if (keyIs(map.via.map.ptr[i].key, name))
            return &map.via.map.ptr[i].val;
    }
    return nullptr;
}

// Calls visit(name, value) for each field of a map with string keys; false when o is not such
// a map or visit refuses a field.
template <typename Visit> bool forEachField(const Object &o, Visit &&visit)
{
    if (o.type != msgpack::type::MAP)
        return false;
    for (quint32 i = 0; i < o.via.map.size; ++i) {
        const Object &key = o.via.map.ptr[i].key;
        if (key.type != msgpack::type::STR || !isValidText(text(key))
            || !visit(text(key), o.via.map.ptr[i].val))
            return false;
    }
    return true;
}

// Values free of ext types (JavaScript undefined, dates, …), which the generic path treats
// specially, and of invalid UTF-8, which it refuses, are taken as they are
// (crdt::Value::fromPacked).
bool isPlainValue(const Object &o)
{
    switch (o.type) {
    case msgpack::type::STR:
        return isValidText(text(o));
    case msgpack::type::ARRAY:
        for (quint32 i = 0; i < o.via.array.size; ++i) {
            if (!isPlainValue(o.via.array.ptr[i]))
                return false;
        }
        return true;
    case msgpack::type::MAP:
        for (quint32 i = 0; i < o.via.map.size; ++i) {
            if (!isPlainValue(o.via.map.ptr[i].key) || !isPlainValue(o.via.map.ptr[i].val))
                return false;
        }
        return true;
    case msgpack::type::EXT:
        return false;
    default:
        return true;
    }
}

class OpReader
{
public:
    OpReader(QByteArrayView frame, QString &mapNameCache, QString &nodeIdCache)
        : m_frame(frame)
        , m_mapNames(mapNameCache)
        , m_nodeIds(nodeIdCache)
    { }

    // A field's value as its bytes in the frame: they start right after its name, which is a
    // string pointing into the frame.
    bool readValue(std::string_view name, const Object &o, crdt::Value &out)
    {
        if (!isPlainValue(o))
            return false;
        const char *start = name.data() + name.size();
        const qsizetype size = wire::MsgPackCodec::valueSize(
            QByteArrayView(start, m_frame.data() + m_frame.size() - start));
        if (size <= 0)
            return false;
        out = crdt::Value::fromPacked(QByteArray(start, size));
        return true;
    }

    bool readTimestamp(const Object &o, crdt::Timestamp &out)
    {
        if (o.type != msgpack::type::MAP || !isPlainValue(o))
            return false;
        const Object *millis = field(o, "millis");
        const Object *counter = field(o, "counter");
        const Object *nodeId = field(o, "nodeId");
        qint64 count = 0;
        if (!millis || !counter || !nodeId || !readInteger(*millis, out.millis)
            || !readInteger(*counter, count) || count < std::numeric_limits<qint32>::min()
            || count > std::numeric_limits<qint32>::max()
            || !readCachedString(*nodeId, m_nodeIds, out.nodeId)) {
            return false;
        }
        out.counter = qint32(count);
        return true;
    }

    // The parts LWW and OR records share: value (absent is a tombstone), timestamp, ttlMs.
    template <typename Record> bool readRecord(const Object &o, Record &out, const Object **tag)
    {
        bool haveTimestamp = false;
        static const crdt::Value kAbsent = crdt::Value::fromPacked(QByteArray(1, char(0xc0)));
        out.value = kAbsent; // a tombstone
        const bool ok = forEachField(o, [&](std::string_view name, const Object &val) {
            if (name == "value")
                return readValue(name, val, out.value);
            if (name == "timestamp")
                return haveTimestamp = readTimestamp(val, out.timestamp);
            if (name == "ttlMs") {
                qint64 ttl = 0;
                if (!readInteger(val, ttl))
                    return false;
                out.ttlMs = ttl;
                return true;
            }
            if (name == "tag" && tag) {
                *tag = &val;
                return true;
            }
            return isPlainValue(val);
        });
        return ok && haveTimestamp;
    }

    bool readOp(const Object &o, ClientOp &op)
    {
        bool haveMapName = false;
        bool haveKey = false;
        const bool ok = forEachField(o, [&](std::string_view name, const Object &val) {
            if (name == "id") {
                op.id.emplace();
                return readString(val, *op.id);
            }
            if (name == "mapName")
                return haveMapName = readCachedString(val, m_mapNames, op.mapName);
            if (name == "key")
                return haveKey = readString(val, op.key);
            if (name == "opType")
                return readEnum(val, opTypeFromName, op.opType);
            if (name == "record") {
                op.record.emplace();
                return readRecord(val, *op.record, nullptr);
            }
            if (name == "orRecord") {
                op.orRecord.emplace();
                const Object *tag = nullptr;
                return readRecord(val, *op.orRecord, &tag) && tag
                    && readString(*tag, op.orRecord->tag);
            }
            if (name == "orTag") {
                op.orTag.emplace();
                return readString(val, *op.orTag);
            }
            if (name == "writeConcern")
                return readEnum(val, writeConcernFromName, op.writeConcern);
            if (name == "timeout") {
                qint64 timeout = 0;
                if (!readInteger(val, timeout))
                    return false;
                op.timeout = timeout;
                return true;
            }
            return isPlainValue(val); // unknown fields are ignored, but not invalid UTF-8
        });
        if (!ok || !haveMapName || !haveKey)
            return false;
        // What ClientOp::fromCbor requires of each op type.
        if (!op.opType)
            return op.record || op.orRecord || op.orTag;
        switch (*op.opType) {
        case OpType::Put:
            return op.record.has_value();
        case OpType::OrAdd:
            return op.orRecord.has_value();
        case OpType::OrRemove:
            return op.orTag.has_value();
        case OpType::Remove:
            return true;
        }
        return false;
    }

private:
    QByteArrayView m_frame;
    QString &m_mapNames;
    QString &m_nodeIds;
};

// The value of a map's first field when that field is `type` and holds a short string.
std::optional<std::string_view> leadingType(QByteArrayView frame)
{
    const auto byte = [&frame](qsizetype i) { return quint8(frame.at(i)); };
    const quint8 first = byte(0);
    qsizetype at = (first & 0xf0) == 0x80 ? 1 : first == 0xde ? 3 : first == 0xdf ? 5 : -1;
    if (at < 0 || frame.size() < at + 6 || byte(at) != 0xa4
        || std::string_view(frame.data() + at + 1, 4) != "type") {
        return std::nullopt;
    }
    at += 5;
    qsizetype length = 0;
    if ((byte(at) & 0xe0) == 0xa0) {
        length = byte(at) & 0x1f;
        at += 1;
    } else if (byte(at) == 0xd9 && frame.size() > at + 1) {
        length = byte(at + 1);
        at += 2;
    } else {
        return std::nullopt;
    }
    if (frame.size() < at + length)
        return std::nullopt;
    return std::string_view(frame.data() + at, size_t(length));
}

bool unreferencedNever(msgpack::type::object_type, std::size_t, void *)
{
    return true; // strings and binaries point into the frame, which outlives the decode
}

// Unpacks frame when it is a MessagePack map that may be of one of types (a frame that plainly
// carries another type is left to the generic decoder without being parsed here as well).
bool unpackFrame(QByteArrayView frame, const DecodeLimits &limits,
    std::initializer_list<std::string_view> types, msgpack::object_handle &handle)
{
    if (frame.isEmpty() || frame.size() > limits.maxBytes)
        return false;
    // A MessagePack map starts with 0x80–0x8f, 0xde or 0xdf; JSON text and anything else is
    // left to the generic path.
    const auto first = quint8(frame.front());
    if (!((first & 0xf0) == 0x80 || first == 0xde || first == 0xdf))
        return false;

    // Encoders (msgpackr, wire::MsgPackWriter) write `type` first.
    if (const auto type = leadingType(frame);
        type && std::find(types.begin(), types.end(), *type) == types.end())
        return false;

    try {
        std::size_t offset = 0;
        // msgpack-c allocates room for an array's or a map's declared size before it reads the
        // elements; no container can hold more elements than the frame has bytes, so a header
        // that claims more is refused before anything is allocated for it.
        const auto bytes = std::size_t(frame.size());
        const auto size = std::min(std::size_t(limits.maxElements), bytes);
        const auto length = std::min(std::size_t(limits.maxBytes), bytes);
        handle = msgpack::unpack(frame.data(), bytes, offset, unreferencedNever, nullptr,
            msgpack::unpack_limit(
                size, size, length, length, length, std::size_t(limits.maxDepth)));
        if (offset != std::size_t(frame.size()))
            return false;
    } catch (...) {
        return false;
    }
    return handle.get().type == msgpack::type::MAP;
}

} // namespace

std::optional<DecodedOps> OpBatchDecoder::decode(QByteArrayView frame, const DecodeLimits &limits)
{
    msgpack::object_handle handle;
    if (!unpackFrame(frame, limits, { "OP_BATCH", "CLIENT_OP" }, handle))
        return std::nullopt;

    const Object &root = handle.get();
    const Object *type = field(root, "type");
    const Object *payload = field(root, "payload");
    if (!type || type->type != msgpack::type::STR || !payload
        || payload->type != msgpack::type::MAP) {
        return std::nullopt;
    }

    DecodedOps result;
    OpReader reader(frame, m_lastMapName, m_lastNodeId);
    if (text(*type) == "CLIENT_OP") {
        result.type = MessageType::ClientOp;
        ClientOp op;
        if (!reader.readOp(*payload, op))
            return std::nullopt;
        result.writeConcern = op.writeConcern;
        result.ops.append(std::move(op));
        return result;
    }
    if (text(*type) != "OP_BATCH")
        return std::nullopt;

    const Object *ops = field(*payload, "ops");
    if (!ops || ops->type != msgpack::type::ARRAY)
        return std::nullopt;
    if (const Object *concern = field(*payload, "writeConcern")) {
        if (!readEnum(*concern, writeConcernFromName, result.writeConcern))
            return std::nullopt;
    }
    if (const Object *timeout = field(*payload, "timeout")) {
        qint64 value = 0;
        if (!readInteger(*timeout, value))
            return std::nullopt;
        result.timeout = value;
    }
    result.ops.reserve(ops->via.array.size);
    for (quint32 i = 0; i < ops->via.array.size; ++i) {
        ClientOp op;
        if (!reader.readOp(ops->via.array.ptr[i], op))
            return std::nullopt;
        result.ops.append(std::move(op));
    }
    return result;
}

std::optional<ReplicatedOps> OpBatchDecoder::decodeReplicate(
    QByteArrayView frame, const DecodeLimits &limits)
{
    msgpack::object_handle handle;
    if (!unpackFrame(frame, limits, { "REPLICATE" }, handle))
        return std::nullopt;
    const Object &root = handle.get();
    const Object *type = field(root, "type");
    const Object *seq = field(root, "seq");
    const Object *changes = field(root, "changes");
    qint64 number = 0;
    if (!type || !keyIs(*type, "REPLICATE") || !seq || !readInteger(*seq, number) || number < 0
        || !changes || changes->type != msgpack::type::ARRAY) {
        return std::nullopt;
    }
    ReplicatedOps result;
    result.seq = quint64(number);
    OpReader reader(frame, m_lastMapName, m_lastNodeId);
    result.changes.reserve(changes->via.array.size);
    for (quint32 i = 0; i < changes->via.array.size; ++i) {
        ClientOp op;
        if (!reader.readOp(changes->via.array.ptr[i], op) || op.opType)
            return std::nullopt;
        result.changes.append(std::move(op));
    }
    return result;
}

namespace {

QString opIdOf(const QCborValue &raw)
{
    const QCborValue id = raw.toMap().value(QStringLiteral("id"));
    if (id.isString())
        return id.toString();
    if (id.isInteger())
        return QString::number(id.toInteger());
    return {};
}

} // namespace

std::optional<DecodedOps> DecodedOps::fromCbor(const QCborMap &message, DecodeError *)
{
    DecodedOps result;
    const QCborValue payload = message.value(QStringLiteral("payload"));
    QCborArray raw;
    if (message.value(QStringLiteral("type")).toString()
        == messageTypeName(MessageType::ClientOp)) {
        if (!payload.isMap())
            return std::nullopt;
        result.type = MessageType::ClientOp;
        raw.append(payload);
    } else {
        const QCborValue ops = payload.toMap().value(QStringLiteral("ops"));
        if (!ops.isArray())
            return std::nullopt;
        raw = ops.toArray();
    }
    const QCborValue concern = payload.toMap().value(QStringLiteral("writeConcern"));
    if (concern.isString())
        result.writeConcern = writeConcernFromName(concern.toString());
    const QCborValue timeout = payload.toMap().value(QStringLiteral("timeout"));
    if (timeout.isInteger())
        result.timeout = timeout.toInteger();

    result.ops.reserve(raw.size());
    result.invalid.reserve(raw.size());
    for (const QCborValue &value : std::as_const(raw)) {
        DecodeError opError;
        std::optional<ClientOp> op
            = value.isMap() ? ClientOp::fromCbor(value.toMap(), &opError) : std::nullopt;
        if (op) {
            result.ops.append(std::move(*op));
            result.invalid.append(QString());
            continue;
        }
        ClientOp placeholder;
        if (const QString id = opIdOf(value); !id.isEmpty())
            placeholder.id = id;
        result.ops.append(std::move(placeholder));
        result.invalid.append(
            QStringLiteral("Invalid op: %1 %2").arg(opError.field, opError.reason).trimmed());
    }
    return result;
}

} // namespace wingman::protocol

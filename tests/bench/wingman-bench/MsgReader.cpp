#include "MsgReader.h"

#include "protocol/Wire.h"

#include <charconv>

namespace wingman::bench {

using wingman::wire::MsgPackCodec;

std::optional<Envelope> scanEnvelope(std::string_view message)
{
    MsgReader reader(message);
    const auto entries = reader.mapHeader();
    if (!entries)
        return std::nullopt;
    Envelope envelope;
    const auto complete = [&envelope] {
        const std::string_view type = envelope.type;
        if (type.empty())
            return false;
        if (type == "BATCH")
            return !envelope.data.empty();
        if (type == "OP_ACK" || type == "SERVER_EVENT" || type == "SERVER_BATCH_EVENT")
            return !envelope.payload.empty();
        return true;
    };
    for (quint32 i = 0; i < *entries && !complete(); ++i) {
        const auto key = reader.string();
        if (!key && !reader.skip())
            return std::nullopt;
        std::optional<std::string_view> value;
        if (key == "type" && (value = reader.string())) {
            envelope.type = *value;
            continue;
        }
        if (key == "data" && (value = reader.binary())) {
            envelope.data = *value;
            continue;
        }
        if (key == "payload")
            envelope.payload = reader.rest();
        if (!complete() && !reader.skip())
            return std::nullopt;
    }
    if (envelope.type.empty())
        return std::nullopt;
    return envelope;
}

std::optional<std::string_view> findField(std::string_view map, std::string_view field)
{
    MsgReader reader(map);
    const auto entries = reader.mapHeader();
    if (!entries)
        return std::nullopt;
    for (quint32 i = 0; i < *entries; ++i) {
        const auto key = reader.string();
        if (key == field)
            return reader.rest();
        if ((!key && !reader.skip()) || !reader.skip())
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<EventStamp> eventStamp(std::string_view event)
{
    MsgReader reader(event);
    const auto entries = reader.mapHeader();
    if (!entries)
        return std::nullopt;
    std::optional<quint64> connection;
    std::optional<quint64> millis;
    for (quint32 i = 0; i < *entries && !(connection && millis); ++i) {
        const auto key = reader.string();
        if (key == "key") {
            const auto text = reader.string();
            if (!text || text->size() < 3 || text->front() != 'c')
                return std::nullopt;
            quint64 value = 0;
            const char *end = text->data() + text->size();
            const auto [digitsEnd, error] = std::from_chars(text->data() + 1, end, value);
            if (error != std::errc() || digitsEnd == end || *digitsEnd != '-')
                return std::nullopt;
            connection = value;
            continue;
        }
        if (key == "record") {
            const auto timestamp = findField(reader.rest(), "timestamp");
            const auto field = timestamp ? findField(*timestamp, "millis") : std::nullopt;
            if (field)
                millis = MsgReader(*field).unsignedInteger();
            if (!millis)
                return std::nullopt;
        }
        if ((!key && !reader.skip()) || !reader.skip())
            return std::nullopt;
    }
    if (!connection || !millis)
        return std::nullopt;
    return EventStamp { *connection, *millis };
}

std::optional<quint64> opId(std::string_view encoded)
{
    MsgReader reader(encoded);
    if (const auto text = reader.string()) {
        quint64 value = 0;
        const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
        if (error != std::errc() || end != text->data() + text->size())
            return std::nullopt;
        return value;
    }
    return reader.unsignedInteger();
}

quint64 failedResults(std::string_view payload)
{
    const auto results = findField(payload, "results");
    if (!results)
        return 0;
    MsgReader reader(*results);
    const auto count = reader.arrayHeader();
    if (!count)
        return 0;
    quint64 failed = 0;
    for (quint32 i = 0; i < *count; ++i) {
        if (const auto success = findField(reader.rest(), "success")) {
            if (MsgReader(*success).boolean() == false)
                ++failed;
        }
        if (!reader.skip())
            break;
    }
    return failed;
}

bool forEachBatched(std::string_view data, const std::function<void(std::string_view)> &handle)
{
    const auto readU32 = [&data](quint32 *out) {
        if (data.size() < 4)
            return false;
        const auto *b = reinterpret_cast<const uchar *>(data.data());
        *out = quint32(b[0]) | quint32(b[1]) << 8 | quint32(b[2]) << 16 | quint32(b[3]) << 24;
        data.remove_prefix(4);
        return true;
    };
    quint32 count = 0;
    if (!readU32(&count))
        return false;
    for (quint32 i = 0; i < count; ++i) {
        quint32 length = 0;
        if (!readU32(&length) || data.size() < length)
            return false;
        handle(data.substr(0, length));
        data.remove_prefix(length);
    }
    return true;
}

QCborMap decodeFully(std::string_view message)
{
    return wire::MsgPackCodec::decode(QByteArrayView(message.data(), qsizetype(message.size())))
        .value.toMap();
}

QString describeFailure(const QCborMap &message)
{
    const QCborMap payload = message.value(QStringLiteral("payload")).toMap();
    QString text = message.value(QStringLiteral("error")).toString();
    for (const char *field : { "message", "reason", "error" }) {
        if (text.isEmpty())
            text = payload.value(QLatin1String(field)).toString();
    }
    const QCborValue code = payload.value(QStringLiteral("code"));
    if (code.isInteger() || code.isDouble())
        text = QStringLiteral("code %1: %2").arg(qint64(code.toDouble())).arg(text);
    return text.isEmpty() ? QStringLiteral("(no reason given)") : text;
}

} // namespace wingman::bench

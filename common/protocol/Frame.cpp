#include "protocol/Frame.h"

#include "protocol/JsonCodec.h"

namespace wingman::protocol {

namespace {

bool looksLikeJson(QByteArrayView frame)
{
    for (char c : frame) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        return c == '{' || c == '[' || c == '"';
    }
    return false;
}

} // namespace

FrameDecodeResult Frame::decode(QByteArrayView frame, const DecodeLimits &limits)
{
    FrameDecodeResult result;
    DecodeResult decoded = wire::MsgPackCodec::decode(frame, limits);
    if (!decoded.ok) {
        DecodeResult json = JsonCodec::decode(frame, limits);
        if (!json.ok) {
            // Report the failure of the format the sender most likely meant.
            result.error = looksLikeJson(frame) ? json.error : decoded.error;
            return result;
        }
        decoded = std::move(json);
    }

    if (!decoded.value.isMap()) {
        result.status = FrameDecodeResult::InvalidMessage;
        result.error.reason = QStringLiteral("message is not a map");
        return result;
    }
    QCborMap message = decoded.value.toMap();
    const QCborValue type = message.value(QLatin1StringView("type"));
    if (!type.isString()) {
        result.status = FrameDecodeResult::InvalidMessage;
        result.error.field = QStringLiteral("type");
        result.error.reason = type.isUndefined() ? QStringLiteral("is required")
                                                 : QStringLiteral("must be a string");
        return result;
    }
    result.type = type.toString();
    // Ops are refused one by one (ClientOp::fromCbor), the rest of their batch goes on; any
    // other message is refused whole.
    if (decoded.invalidUtf8 && result.type != u"OP_BATCH" && result.type != u"CLIENT_OP") {
        result.status = FrameDecodeResult::InvalidMessage;
        result.error.reason = QStringLiteral("contains a string that is not valid UTF-8");
        return result;
    }
    result.status = FrameDecodeResult::Ok;
    result.message = std::move(message);
    return result;
}

QByteArray Frame::encode(const QCborMap &message)
{
    return wire::MsgPackCodec::encode(QCborValue(message));
}

} // namespace wingman::protocol

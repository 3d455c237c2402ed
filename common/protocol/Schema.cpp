#include "protocol/Schema.h"

namespace wingman::protocol::schema {

namespace {

constexpr Name kType = "type";

} // namespace

bool readType(const QCborMap &message, MessageType type, DecodeError *error)
{
    const QCborValue value = message.value(kType.text());
    const QLatin1StringView expected = messageTypeName(type);
    if (value.isString() && value.toString() == expected)
        return true;
    return failAt(
        error, FieldPath(FieldPath(), kType.text()), QStringLiteral("must be '%1'").arg(expected));
}

QCborMap startMessage(MessageType type)
{
    QCborMap message;
    message.insert(kType.text(), messageTypeName(type));
    return message;
}

void beginMessage(wire::MsgPackWriter &out, MessageType type, quint32 entries)
{
    out.mapHeader(entries);
    out.raw(kType.key());
    out.latin1(messageTypeName(type));
}

} // namespace wingman::protocol::schema

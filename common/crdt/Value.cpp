#include "crdt/Value.h"

#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

namespace wingman::crdt {

Value Value::fromPacked(QByteArray bytes)
{
    Value value;
    value.m_packed = bytes.isNull() ? QByteArray("", 0) : std::move(bytes);
    return value;
}

QCborValue Value::toCbor() const
{
    if (!isPacked())
        return m_value;
    wire::DecodeResult decoded = wire::MsgPackCodec::decode(m_packed);
    return decoded.ok ? std::move(decoded.value) : QCborValue();
}

QByteArray Value::packed() const
{
    return isPacked() ? m_packed : wire::MsgPackCodec::encode(m_value);
}

bool Value::isNullPacked(const QByteArray &packed)
{
    return packed.size() == 1 && quint8(packed.at(0)) == 0xc0;
}

bool Value::isUndefinedPacked(const QByteArray &packed)
{
    // wire::MsgPackCodec's undefined: fixext1 of type 0.
    return packed.size() == 3 && packed.startsWith(QByteArrayView("\xd4\x00", 2));
}

bool Value::isNull() const
{
    return isPacked() ? isNullPacked(m_packed) : m_value.isNull();
}

bool Value::isUndefined() const
{
    return isPacked() ? isUndefinedPacked(m_packed) : m_value.isUndefined();
}

bool operator==(const Value &a, const Value &b)
{
    if (a.isPacked() && b.isPacked() && a.m_packed == b.m_packed)
        return true;
    if (!a.isPacked() && !b.isPacked())
        return a.m_value == b.m_value;
    return a.toCbor() == b.toCbor();
}

void Value::writeTo(wire::MsgPackWriter &out) const
{
    if (isUndefined())
        out.nil();
    else if (isPacked())
        out.raw(m_packed);
    else
        out.value(m_value);
}

} // namespace wingman::crdt

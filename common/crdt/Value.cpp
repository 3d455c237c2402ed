#include "crdt/Value.h"

#include "wire/MsgPackCodec.h"
#include "wire/MsgPackWriter.h"

namespace wingman::crdt {

namespace {

bool isPackedNull(const QByteArray &bytes)
{
    return bytes.size() == 1 && quint8(bytes.at(0)) == 0xc0;
}

} // namespace

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

bool Value::isNull() const
{
    return isPacked() ? isPackedNull(m_packed) : m_value.isNull();
}

bool Value::isUndefined() const
{
    // wire::MsgPackCodec's undefined: fixext1 of type 0.
    return isPacked() ? m_packed.size() == 3 && m_packed.startsWith(QByteArrayView("\xd4\x00", 2))
                      : m_value.isUndefined();
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

#pragma once

#include <QByteArray>
#include <QCborValue>

#include <concepts>
#include <utility>

namespace wingman::wire {
class MsgPackWriter;
}

namespace wingman::crdt {

// A record's value: either a QCborValue or the MessagePack encoding of one (wire::MsgPackCodec's
// mapping). Values arriving in a client's write, or loaded from storage, stay in their wire form:
// most of them are only stored, merged and sent on again, so building a QCborValue tree for each
// would be the write path's largest cost. Whoever needs to look inside (a query predicate, the OR
// map's Merkle hash, an application) asks for toCbor().
class Value
{
public:
    Value() = default;
    template <typename T>
    requires std::constructible_from<QCborValue, T &&> Value(
        T &&value) // NOLINT(google-explicit-constructor): a QCborValue is a Value
        : m_value(std::forward<T>(value))
    { }

    // bytes must hold exactly one MessagePack value (wire::MsgPackCodec::valueSize(bytes) ==
    // bytes.size()); one that still fails to decode reads as undefined through toCbor().
    static Value fromPacked(QByteArray bytes);

    bool isPacked() const { return !m_packed.isNull(); }
    // The value as a tree; decodes a packed value every time it is called.
    QCborValue toCbor() const;
    // The MessagePack encoding; encodes an unpacked value every time it is called.
    QByteArray packed() const;
    // Writes the value as a record carries it: undefined (an absent value, a tombstone) as nil, a
    // packed value copied as it is.
    void writeTo(wire::MsgPackWriter &out) const;

    bool isNull() const;
    bool isUndefined() const;
    // The same tests on packed bytes, for holders that keep the bytes without a Value.
    static bool isNullPacked(const QByteArray &packed);
    static bool isUndefinedPacked(const QByteArray &packed);
    // Null or undefined: what a tombstone carries.
    bool isNullish() const { return isNull() || isUndefined(); }

    // Equal as values, whatever the form of each.
    friend bool operator==(const Value &a, const Value &b);

private:
    QCborValue m_value;
    QByteArray m_packed; // null unless packed
};

} // namespace wingman::crdt

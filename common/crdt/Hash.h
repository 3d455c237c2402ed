#pragma once

#include <QString>
#include <QStringView>
#include <array>

namespace wingman::crdt {

// FNV-1a, 32-bit, over UTF-16 code units: the hash TopGun uses for Merkle paths, item hashes and
// partitions. Incremental, so a composite string such as "key:millis:counter:node" is hashed
// piece by piece without being built.
class Hash
{
public:
    static constexpr quint32 kOffsetBasis = 0x811c9dc5u;
    static constexpr quint32 kPrime = 0x01000193u;

    Hash &add(char16_t unit)
    {
        m_value = (m_value ^ unit) * kPrime;
        return *this;
    }
    Hash &add(QStringView text)
    {
        for (const QChar c : text)
            m_value = (m_value ^ c.unicode()) * kPrime;
        return *this;
    }
    // Latin-1 bytes are their own UTF-16 code units.
    Hash &add(QLatin1StringView text)
    {
        for (const char c : text)
            m_value = (m_value ^ static_cast<uchar>(c)) * kPrime;
        return *this;
    }
    // The decimal digits of value, as a JavaScript template literal prints an integer.
    Hash &addDecimal(qint64 value);

    quint32 value() const { return m_value; }

    static quint32 of(QStringView text) { return Hash().add(text).value(); }
    // Lower-case hex, zero-padded to 8 chars: a key's Merkle path.
    static std::array<char16_t, 8> hexDigits(quint32 hash);
    static QString toHex(quint32 hash);

private:
    quint32 m_value = kOffsetBasis;
};

// hash(s) of docs/core.md: FNV-1a over the UTF-16 code units of text.
inline quint32 hash(QStringView text)
{
    return Hash::of(text);
}

} // namespace wingman::crdt

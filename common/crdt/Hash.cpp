#include "crdt/Hash.h"

namespace wingman::crdt {

Hash &Hash::addDecimal(qint64 value)
{
    char16_t digits[20];
    int count = 0;
    // Work on the unsigned magnitude so that INT64_MIN does not overflow.
    quint64 magnitude = value < 0 ? 0 - static_cast<quint64>(value) : static_cast<quint64>(value);
    do {
        digits[count++] = static_cast<char16_t>(u'0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0)
        add(u'-');
    while (count > 0)
        add(digits[--count]);
    return *this;
}

std::array<char16_t, 8> Hash::hexDigits(quint32 hash)
{
    static constexpr char16_t kHex[] = u"0123456789abcdef";
    std::array<char16_t, 8> out;
    for (int i = 7; i >= 0; --i) {
        out[i] = kHex[hash & 0xf];
        hash >>= 4;
    }
    return out;
}

QString Hash::toHex(quint32 hash)
{
    const auto digits = hexDigits(hash);
    return QString(reinterpret_cast<const QChar *>(digits.data()), qsizetype(digits.size()));
}

} // namespace wingman::crdt

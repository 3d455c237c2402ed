#include "crdt/Hash.h"

namespace wingman::crdt {

Hash &Hash::addDecimal(qint64 value)
{
    // Two digits per division: timestamps have 13 digits and sit on the merge hot path.
    static constexpr char kPairs[]
        = "00010203040506070809101112131415161718192021222324252627282930"
          "31323334353637383940414243444546474849505152535455565758596061"
          "62636465666768697071727374757677787980818283848586878889909192"
          "93949596979899";
    char digits[20];
    int start = 20;
    // Work on the unsigned magnitude so that INT64_MIN does not overflow.
    quint64 magnitude = value < 0 ? 0 - static_cast<quint64>(value) : static_cast<quint64>(value);
    while (magnitude >= 100) {
        const unsigned pair = unsigned(magnitude % 100) * 2;
        magnitude /= 100;
        digits[--start] = kPairs[pair + 1];
        digits[--start] = kPairs[pair];
    }
    if (magnitude >= 10) {
        digits[--start] = kPairs[magnitude * 2 + 1];
        digits[--start] = kPairs[magnitude * 2];
    } else {
        digits[--start] = char('0' + magnitude);
    }
    if (value < 0)
        add(u'-');
    return add(QLatin1StringView(digits + start, 20 - start));
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

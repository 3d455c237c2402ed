#include "crdt/JsStringify.h"

#include <QCborArray>
#include <QCborMap>
#include <QList>
#include <QStringList>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

namespace wingman::crdt {

namespace {

bool isBignum(const QCborValue &value)
{
    return value.isTag()
        && (value.tag() == QCborTag(QCborKnownTags::PositiveBignum)
            || value.tag() == QCborTag(QCborKnownTags::NegativeBignum))
        && value.taggedValue().isByteArray();
}

// Exact decimal of a CBOR bignum (big-endian magnitude; negative ones mean -1 - n).
void appendBignum(QString &out, const QCborValue &value)
{
    QByteArray magnitude = value.taggedValue().toByteArray();
    const bool negative = value.tag() == QCborTag(QCborKnownTags::NegativeBignum);
    if (negative) {
        qsizetype i = magnitude.size() - 1;
        for (; i >= 0; --i) {
            if (uchar(magnitude[i]) != 0xff) {
                magnitude[i] = char(uchar(magnitude[i]) + 1);
                break;
            }
            magnitude[i] = 0;
        }
        if (i < 0)
            magnitude.prepend('\1');
    }

    QString digits;
    auto isZero = [&] {
        return std::all_of(magnitude.cbegin(), magnitude.cend(), [](char b) { return b == 0; });
    };
    while (!isZero()) {
        unsigned remainder = 0;
        for (char &byte : magnitude) {
            const unsigned current = (remainder << 8) | uchar(byte);
            byte = char(current / 10);
            remainder = current % 10;
        }
        digits.prepend(QChar(u'0' + remainder));
    }
    if (digits.isEmpty())
        digits = QStringLiteral("0");
    if (negative)
        out += u'-';
    out += digits;
}

// A map key as the JavaScript property name it becomes when decoded into an object.
QString propertyName(const QCborValue &key)
{
    if (key.isString())
        return key.toString();
    if (key.isInteger())
        return QString::number(key.toInteger());
    if (key.isDouble())
        return JsStringify::number(key.toDouble());
    return JsStringify::stringify(key);
}

// "0", "1", ... sorted as strings, the keys JavaScript reports for an array or Uint8Array.
QStringList sortedIndexNames(qsizetype count)
{
    QStringList names;
    names.reserve(count);
    for (qsizetype i = 0; i < count; ++i)
        names.append(QString::number(i));
    std::sort(names.begin(), names.end());
    return names;
}

// A map's properties sorted by name, the last of duplicate keys winning as in a JS object.
QList<std::pair<QString, QCborValue>> sortedProperties(const QCborMap &map)
{
    QList<std::pair<QString, QCborValue>> properties;
    properties.reserve(map.size());
    for (auto it = map.cbegin(); it != map.cend(); ++it)
        properties.append({ propertyName(it.key()), it.value() });
    std::stable_sort(properties.begin(), properties.end(),
        [](const auto &a, const auto &b) { return a.first < b.first; });
    QList<std::pair<QString, QCborValue>> unique;
    unique.reserve(properties.size());
    for (auto &property : properties) {
        if (!unique.isEmpty() && unique.last().first == property.first)
            unique.last() = std::move(property);
        else
            unique.append(std::move(property));
    }
    return unique;
}

// The canonical array index named by text, if it is one below count.
std::optional<qsizetype> arrayIndex(QStringView text, qsizetype count)
{
    if (text.isEmpty() || text.size() > 18 || (text.size() > 1 && text.front() == u'0'))
        return std::nullopt;
    qsizetype index = 0;
    for (const QChar c : text) {
        if (c < u'0' || c > u'9')
            return std::nullopt;
        index = index * 10 + (c.unicode() - u'0');
    }
    if (index >= count)
        return std::nullopt;
    return index;
}

bool isUndefinedInJson(const QCborValue &value)
{
    return value.isUndefined() || value.isInvalid();
}

// JSON.stringify with an array replacer: state.[[PropertyList]] = the whitelist.
class JsonWriter
{
public:
    JsonWriter(QString &out, const QStringList &whitelist)
        : m_out(out)
        , m_whitelist(whitelist)
    { }

    void write(const QCborValue &value)
    {
        switch (value.type()) {
        case QCborValue::Integer:
            m_out += QString::number(value.toInteger());
            return;
        case QCborValue::Double: {
            const double number = value.toDouble();
            if (std::isfinite(number))
                JsStringify::appendNumber(m_out, number);
            else
                m_out += QLatin1StringView("null");
            return;
        }
        case QCborValue::String:
            JsStringify::appendJsonString(m_out, value.toString());
            return;
        case QCborValue::True:
            m_out += QLatin1StringView("true");
            return;
        case QCborValue::False:
            m_out += QLatin1StringView("false");
            return;
        case QCborValue::Array:
            writeArray(value.toArray());
            return;
        case QCborValue::Map:
            writeMap(value.toMap());
            return;
        case QCborValue::ByteArray:
            writeBytes(value.toByteArray());
            return;
        default:
            break;
        }
        if (isBignum(value)) {
            appendBignum(m_out, value);
            return;
        }
        if (value.isTag()) {
            const QCborValue tagged = value.taggedValue();
            if (isUndefinedInJson(tagged))
                m_out += QLatin1StringView("null");
            else
                write(tagged);
            return;
        }
        m_out += QLatin1StringView("null");
    }

    // Both lists are sorted the same way, so one merge pass keeps the whitelisted keys in the
    // whitelist's order.
    void writeProperties(const QList<std::pair<QString, QCborValue>> &properties)
    {
        auto property = properties.cbegin();
        bool first = true;
        m_out += u'{';
        for (const QString &name : m_whitelist) {
            while (property != properties.cend() && property->first < name)
                ++property;
            if (property == properties.cend())
                break;
            if (property->first != name || isUndefinedInJson(property->second))
                continue;
            writeName(name, first);
            write(property->second);
        }
        m_out += u'}';
    }

private:
    void writeArray(const QCborArray &array)
    {
        m_out += u'[';
        bool first = true;
        for (const QCborValue &element : array) {
            if (!first)
                m_out += u',';
            first = false;
            if (isUndefinedInJson(element))
                m_out += QLatin1StringView("null");
            else
                write(element);
        }
        m_out += u']';
    }

    void writeMap(const QCborMap &map) { writeProperties(sortedProperties(map)); }

    void writeBytes(const QByteArray &bytes)
    {
        bool first = true;
        m_out += u'{';
        for (const QString &name : m_whitelist) {
            const auto index = arrayIndex(name, bytes.size());
            if (!index)
                continue;
            writeName(name, first);
            m_out += QString::number(uchar(bytes.at(*index)));
        }
        m_out += u'}';
    }

    void writeName(const QString &name, bool &first)
    {
        if (!first)
            m_out += u',';
        first = false;
        JsStringify::appendJsonString(m_out, name);
        m_out += u':';
    }

    QString &m_out;
    const QStringList &m_whitelist;
};

void appendObjectJson(QString &out, const QCborValue &value)
{
    QStringList whitelist;
    if (value.isMap()) {
        const auto properties = sortedProperties(value.toMap());
        whitelist.reserve(properties.size());
        for (const auto &property : properties)
            whitelist.append(property.first);
        JsonWriter(out, whitelist).writeProperties(properties);
        return;
    }
    if (value.isArray())
        whitelist = sortedIndexNames(value.toArray().size());
    else
        whitelist = sortedIndexNames(value.toByteArray().size());
    JsonWriter(out, whitelist).write(value);
}

} // namespace

QString JsStringify::stringify(const QCborValue &value)
{
    QString out;
    appendStringify(out, value);
    return out;
}

void JsStringify::appendStringify(QString &out, const QCborValue &value)
{
    switch (value.type()) {
    case QCborValue::Null:
        out += QLatin1StringView("null");
        return;
    case QCborValue::Undefined:
    case QCborValue::Invalid:
        out += QLatin1StringView("undefined");
        return;
    case QCborValue::String:
        out += value.toString();
        return;
    case QCborValue::Integer:
        out += QString::number(value.toInteger());
        return;
    case QCborValue::Double:
        appendNumber(out, value.toDouble());
        return;
    case QCborValue::True:
        out += QLatin1StringView("true");
        return;
    case QCborValue::False:
        out += QLatin1StringView("false");
        return;
    case QCborValue::Array:
    case QCborValue::Map:
    case QCborValue::ByteArray:
        appendObjectJson(out, value);
        return;
    default:
        break;
    }
    if (isBignum(value)) {
        appendBignum(out, value);
        return;
    }
    if (value.isTag()) {
        appendStringify(out, value.taggedValue());
        return;
    }
    out += QLatin1StringView("null");
}

QString JsStringify::number(double value)
{
    QString out;
    appendNumber(out, value);
    return out;
}

void JsStringify::appendNumber(QString &out, double value)
{
    if (std::isnan(value)) {
        out += QLatin1StringView("NaN");
        return;
    }
    if (value == 0) {
        out += u'0';
        return;
    }
    if (value < 0) {
        out += u'-';
        value = -value;
    }
    if (std::isinf(value)) {
        out += QLatin1StringView("Infinity");
        return;
    }

    // Shortest round-trip digits "d.ddde+x", the digits s and exponent of Number::toString.
    char buffer[40];
    const auto result
        = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
    const char *end = result.ptr;
    const char *exponentMark = std::find(static_cast<const char *>(buffer), end, 'e');
    QByteArray digits;
    for (const char *p = buffer; p != exponentMark; ++p) {
        if (*p != '.')
            digits += *p;
    }
    int exponent = 0;
    const char *exponentText = exponentMark + 1;
    if (*exponentText == '+')
        ++exponentText;
    std::from_chars(exponentText, end, exponent);

    const int k = int(digits.size());
    const int n = exponent + 1; // value = s * 10^(n - k)
    if (k <= n && n <= 21) {
        out += QLatin1StringView(digits);
        out += QString(n - k, u'0');
    } else if (0 < n && n <= 21) {
        out += QLatin1StringView(digits.left(n));
        out += u'.';
        out += QLatin1StringView(digits.mid(n));
    } else if (-6 < n && n <= 0) {
        out += QLatin1StringView("0.");
        out += QString(-n, u'0');
        out += QLatin1StringView(digits);
    } else {
        out += QLatin1Char(digits.at(0));
        if (k > 1) {
            out += u'.';
            out += QLatin1StringView(digits.mid(1));
        }
        out += u'e';
        out += n - 1 >= 0 ? u'+' : u'-';
        out += QString::number(std::abs(n - 1));
    }
}

void JsStringify::appendJsonString(QString &out, QStringView text)
{
    static constexpr char16_t kHex[] = u"0123456789abcdef";
    auto appendEscape = [&out](char16_t unit) {
        out += QLatin1StringView("\\u");
        out += QChar(kHex[(unit >> 12) & 0xf]);
        out += QChar(kHex[(unit >> 8) & 0xf]);
        out += QChar(kHex[(unit >> 4) & 0xf]);
        out += QChar(kHex[unit & 0xf]);
    };

    out += u'"';
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        const char16_t unit = text[i].unicode();
        switch (unit) {
        case u'"':
            out += QLatin1StringView("\\\"");
            continue;
        case u'\\':
            out += QLatin1StringView("\\\\");
            continue;
        case u'\b':
            out += QLatin1StringView("\\b");
            continue;
        case u'\f':
            out += QLatin1StringView("\\f");
            continue;
        case u'\n':
            out += QLatin1StringView("\\n");
            continue;
        case u'\r':
            out += QLatin1StringView("\\r");
            continue;
        case u'\t':
            out += QLatin1StringView("\\t");
            continue;
        default:
            break;
        }
        if (unit < 0x20) {
            appendEscape(unit);
            continue;
        }
        // Well-formed JSON.stringify escapes lone surrogates and keeps valid pairs.
        if (QChar::isHighSurrogate(unit)) {
            if (i + 1 < size && QChar::isLowSurrogate(text[i + 1].unicode())) {
                out += QChar(unit);
                out += text[++i];
            } else {
                appendEscape(unit);
            }
            continue;
        }
        if (QChar::isLowSurrogate(unit)) {
            appendEscape(unit);
            continue;
        }
        out += QChar(unit);
    }
    out += u'"';
}

} // namespace wingman::crdt

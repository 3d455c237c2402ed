#include "crdt/Timestamp.h"

#include "crdt/CrdtLogging.h"

#include <unicode/coll.h>
#include <unicode/locid.h>

#include <limits>
#include <memory>

namespace wingman::crdt {

namespace {

// Unsigned decimal with no sign, spaces or other decoration, within [0, max].
std::optional<qint64> parseDecimal(QStringView text, qint64 max)
{
    if (text.isEmpty())
        return std::nullopt;
    qint64 value = 0;
    for (const QChar c : text) {
        const char16_t unit = c.unicode();
        if (unit < u'0' || unit > u'9')
            return std::nullopt;
        const int digit = unit - u'0';
        if (value > (max - digit) / 10)
            return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

std::unique_ptr<icu::Collator> createRootCollator()
{
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Collator> collator(
        icu::Collator::createInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) {
        qCCritical(lcCrdt) << "ICU root collator unavailable:" << u_errorName(status)
                           << "- node ids compare by code unit";
        return nullptr;
    }
    return collator;
}

} // namespace

QString Timestamp::toString() const
{
    QString text;
    text.reserve(32 + nodeId.size());
    text += QString::number(millis);
    text += u':';
    text += QString::number(counter);
    text += u':';
    text += nodeId;
    return text;
}

std::optional<Timestamp> Timestamp::fromString(const QString &text)
{
    const qsizetype first = text.indexOf(u':');
    if (first < 0)
        return std::nullopt;
    const qsizetype second = text.indexOf(u':', first + 1);
    if (second < 0 || text.indexOf(u':', second + 1) >= 0)
        return std::nullopt;

    const QStringView view(text);
    const auto millis = parseDecimal(view.first(first), std::numeric_limits<qint64>::max());
    const auto counter = parseDecimal(
        view.sliced(first + 1, second - first - 1), std::numeric_limits<qint32>::max());
    const QStringView nodeId = view.sliced(second + 1);
    if (!millis || !counter || nodeId.isEmpty())
        return std::nullopt;
    return Timestamp { *millis, static_cast<qint32>(*counter), nodeId.toString() };
}

std::strong_ordering operator<=>(const Timestamp &a, const Timestamp &b)
{
    if (a.millis != b.millis)
        return a.millis <=> b.millis;
    if (a.counter != b.counter)
        return a.counter <=> b.counter;
    return compareNodeIds(a.nodeId, b.nodeId) <=> 0;
}

int compareNodeIds(const QString &a, const QString &b)
{
    // Interned ids share their buffer; equal ids never need the collator.
    if (a.size() == b.size() && (a.constData() == b.constData() || a == b))
        return 0;

    // ICU collators must not be shared between threads; one per thread is cheap enough.
    thread_local const std::unique_ptr<icu::Collator> collator = createRootCollator();
    if (!collator)
        return QString::compare(a, b) < 0 ? -1 : 1;

    UErrorCode status = U_ZERO_ERROR;
    const UCollationResult result = collator->compare(reinterpret_cast<const char16_t *>(a.utf16()),
        static_cast<int32_t>(a.size()), reinterpret_cast<const char16_t *>(b.utf16()),
        static_cast<int32_t>(b.size()), status);
    if (U_FAILURE(status))
        return QString::compare(a, b) < 0 ? -1 : 1;
    return static_cast<int>(result);
}

} // namespace wingman::crdt

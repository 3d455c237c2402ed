#include "protocol/JsonCodec.h"

#include <QCborArray>
#include <QCborMap>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

namespace wingman::protocol {

namespace {

DecodeResult failure(const QString &reason)
{
    DecodeResult result;
    result.error.reason = reason;
    return result;
}

bool startsWithContainer(QByteArrayView text)
{
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        return c == '{' || c == '[';
    }
    return false;
}

// Qt's parser stops at 1024 levels itself, which bounds this recursion.
bool checkLimits(const QCborValue &value, int depth, qsizetype &elements,
    const DecodeLimits &limits, QString &error)
{
    if (!value.isArray() && !value.isMap())
        return true;
    if (depth >= limits.maxDepth) {
        error = QStringLiteral("nesting deeper than %1 levels").arg(limits.maxDepth);
        return false;
    }
    if (value.isArray()) {
        const QCborArray array = value.toArray();
        elements += array.size();
        if (elements > limits.maxElements) {
            error = QStringLiteral("more than %1 elements").arg(limits.maxElements);
            return false;
        }
        for (const QCborValue &element : array) {
            if (!checkLimits(element, depth + 1, elements, limits, error))
                return false;
        }
        return true;
    }
    const QCborMap map = value.toMap();
    elements += map.size();
    if (elements > limits.maxElements) {
        error = QStringLiteral("more than %1 elements").arg(limits.maxElements);
        return false;
    }
    for (auto it = map.cbegin(); it != map.cend(); ++it) {
        if (!checkLimits(it.value(), depth + 1, elements, limits, error))
            return false;
    }
    return true;
}

QCborValue fromDocument(const QJsonDocument &document)
{
    if (document.isObject())
        return QCborMap::fromJsonObject(document.object());
    return QCborArray::fromJsonArray(document.array());
}

} // namespace

DecodeResult JsonCodec::decode(QByteArrayView utf8, const DecodeLimits &limits)
{
    if (utf8.size() > limits.maxBytes)
        return failure(QStringLiteral("document larger than %1 bytes").arg(limits.maxBytes));

    const QByteArray text = QByteArray::fromRawData(utf8.data(), utf8.size());
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(text, &parseError);
    QCborValue value;
    if (parseError.error == QJsonParseError::NoError) {
        value = fromDocument(document);
    } else if (!startsWithContainer(utf8)) {
        // QJsonDocument only takes objects and arrays at the top; a bare value goes in an array.
        QJsonParseError wrappedError;
        const QJsonDocument wrapped = QJsonDocument::fromJson('[' + text + ']', &wrappedError);
        if (wrappedError.error != QJsonParseError::NoError || wrapped.array().size() != 1)
            return failure(QStringLiteral("invalid JSON: %1").arg(parseError.errorString()));
        value = QCborValue::fromJsonValue(wrapped.array().at(0));
    } else {
        return failure(QStringLiteral("invalid JSON at offset %1: %2")
                           .arg(parseError.offset)
                           .arg(parseError.errorString()));
    }

    qsizetype elements = 0;
    QString error;
    if (!checkLimits(value, 0, elements, limits, error))
        return failure(error);
    DecodeResult result;
    result.value = std::move(value);
    result.ok = true;
    return result;
}

QByteArray JsonCodec::encode(const QCborValue &value)
{
    if (value.isMap())
        return QJsonDocument(value.toMap().toJsonObject()).toJson(QJsonDocument::Compact);
    if (value.isArray())
        return QJsonDocument(value.toArray().toJsonArray()).toJson(QJsonDocument::Compact);
    const QByteArray wrapped
        = QJsonDocument(QJsonArray { value.toJsonValue() }).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

} // namespace wingman::protocol

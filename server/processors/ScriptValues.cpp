#include "processors/ScriptValues.h"

#include <QCborArray>
#include <QCborMap>
#include <QJsonArray>
#include <QJsonDocument>

namespace wingman::processors {

bool ScriptValues::isPlain(const QCborValue &value)
{
    switch (value.type()) {
    case QCborValue::Integer:
    case QCborValue::Double:
    case QCborValue::String:
    case QCborValue::True:
    case QCborValue::False:
    case QCborValue::Null:
    case QCborValue::Undefined:
        return true;
    case QCborValue::Array: {
        const QCborArray array = value.toArray();
        for (const QCborValue &item : array) {
            if (!isPlain(item))
                return false;
        }
        return true;
    }
    case QCborValue::Map: {
        const QCborMap map = value.toMap();
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            if (!it.key().isString() || !isPlain(it.value()))
                return false;
        }
        return true;
    }
    default:
        return false;
    }
}

QString ScriptValues::toJson(const QCborValue &value)
{
    if (value.isUndefined())
        return {};
    // A document holds an array or an object only: the value goes in a one-item array.
    const QByteArray text
        = QJsonDocument(QJsonArray { value.toJsonValue() }).toJson(QJsonDocument::Compact);
    return QString::fromUtf8(text.mid(1, text.size() - 2));
}

QCborValue ScriptValues::fromJson(const QString &text)
{
    if (text.isEmpty())
        return QCborValue(QCborValue::Undefined);
    QJsonParseError error;
    const QJsonDocument document
        = QJsonDocument::fromJson(QByteArray("[") + text.toUtf8() + QByteArray("]"), &error);
    if (error.error != QJsonParseError::NoError || !document.isArray()
        || document.array().size() != 1)
        return QCborValue(QCborValue::Undefined);
    return QCborValue::fromJsonValue(document.array().at(0));
}

bool ScriptValues::deepEqual(const QCborValue &a, const QCborValue &b)
{
    if (a.isInteger() && b.isInteger())
        return a.toInteger() == b.toInteger();
    if ((a.isInteger() || a.isDouble()) && (b.isInteger() || b.isDouble()))
        return a.toDouble() == b.toDouble();
    if (a.type() != b.type())
        return false;
    if (a.isArray()) {
        const QCborArray x = a.toArray();
        const QCborArray y = b.toArray();
        if (x.size() != y.size())
            return false;
        for (qsizetype i = 0; i < x.size(); ++i) {
            if (!deepEqual(x.at(i), y.at(i)))
                return false;
        }
        return true;
    }
    if (a.isMap()) {
        const QCborMap x = a.toMap();
        const QCborMap y = b.toMap();
        if (x.size() != y.size())
            return false;
        for (auto it = x.cbegin(); it != x.cend(); ++it) {
            const auto other = y.constFind(it.key());
            if (other == y.constEnd() || !deepEqual(it.value(), other.value()))
                return false;
        }
        return true;
    }
    return a == b;
}

} // namespace wingman::processors

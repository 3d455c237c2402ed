#include "query/QueryCursor.h"

#include "crdt/Hash.h"

#include <QCborMap>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace wingman::query {

namespace {

constexpr auto kBase64Url = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;

} // namespace

quint32 QueryCursor::hashOf(const Query &query)
{
    QCborMap shape = query.toCbor();
    shape.remove(QStringLiteral("limit"));
    shape.remove(QStringLiteral("cursor"));
    const QByteArray bytes = QCborValue(shape).toCbor();
    return crdt::Hash().add(QLatin1StringView(bytes)).value();
}

QString QueryCursor::encode() const
{
    QJsonArray values;
    for (const QCborValue &value : sortValues)
        values.append(value.toJsonValue());
    const QJsonObject object { { QStringLiteral("v"), values }, { QStringLiteral("k"), key },
        { QStringLiteral("h"), qint64(queryHash) }, { QStringLiteral("t"), createdMs } };
    return QString::fromLatin1(
        QJsonDocument(object).toJson(QJsonDocument::Compact).toBase64(kBase64Url));
}

std::optional<QueryCursor> QueryCursor::decode(const QString &text)
{
    const auto bytes = QByteArray::fromBase64Encoding(
        text.toLatin1(), kBase64Url | QByteArray::AbortOnBase64DecodingErrors);
    if (!bytes)
        return std::nullopt;
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject())
        return std::nullopt;
    const QJsonObject object = document.object();
    const QJsonValue values = object.value(QStringLiteral("v"));
    const QJsonValue key = object.value(QStringLiteral("k"));
    const QJsonValue hash = object.value(QStringLiteral("h"));
    const QJsonValue created = object.value(QStringLiteral("t"));
    if (!values.isArray() || !key.isString() || !hash.isDouble() || !created.isDouble())
        return std::nullopt;
    const double hashValue = hash.toDouble();
    if (hashValue < 0 || hashValue > 4294967295.0 || hashValue != double(quint32(hashValue)))
        return std::nullopt;
    QueryCursor cursor;
    for (const QJsonValue &value : values.toArray())
        cursor.sortValues.append(QCborValue::fromJsonValue(value));
    cursor.key = key.toString();
    cursor.queryHash = quint32(hashValue);
    cursor.createdMs = qint64(created.toDouble());
    return cursor;
}

QueryCursor::Status QueryCursor::check(const Query &query, qint64 nowMs, QueryCursor *position)
{
    if (query.cursor().isEmpty())
        return Status::None;
    const auto cursor = decode(query.cursor());
    if (!cursor || cursor->queryHash != hashOf(query)
        || cursor->sortValues.size() != query.sort().size())
        return Status::Invalid;
    if (nowMs - cursor->createdMs > kMaxAgeMs)
        return Status::Expired;
    if (position)
        *position = *cursor;
    return Status::Valid;
}

QString QueryCursor::statusName(Status status)
{
    switch (status) {
    case Status::Valid:
        return QStringLiteral("valid");
    case Status::Expired:
        return QStringLiteral("expired");
    case Status::Invalid:
        return QStringLiteral("invalid");
    case Status::None:
        break;
    }
    return QStringLiteral("none");
}

} // namespace wingman::query

#include "storage/StorageUrl.h"

#include <QUrl>
#include <QUrlQuery>

namespace wingman::storage {

namespace {

bool isPostgresScheme(const QString &text)
{
    return text.startsWith(QLatin1String("postgres://"))
        || text.startsWith(QLatin1String("postgresql://"));
}

std::optional<StorageUrl> fail(QString *error, const QString &why)
{
    if (error)
        *error = why;
    return std::nullopt;
}

} // namespace

std::optional<StorageUrl> StorageUrl::parse(const QString &text, QString *error)
{
    const QString trimmed = text.trimmed();
    StorageUrl url;
    if (trimmed == QLatin1String("memory:"))
        return url;
    if (trimmed.startsWith(QLatin1String("sqlite:"))) {
        url.kind = Kind::Sqlite;
        url.path = trimmed.mid(7);
        if (url.path.isEmpty())
            return fail(
                error, QStringLiteral("sqlite: needs a file path, as in sqlite:./data/wingman.db"));
        return url;
    }
    if (!isPostgresScheme(trimmed)) {
        return fail(error,
            QStringLiteral("supported: memory:, sqlite:<path>, "
                           "postgres://user:password@host:port/database"));
    }

    const QUrl parsed(trimmed, QUrl::StrictMode);
    if (!parsed.isValid())
        return fail(error, QStringLiteral("not a valid postgres:// URL"));
    url.kind = Kind::Postgres;
    if (!parsed.host().isEmpty())
        url.host = parsed.host();
    if (parsed.port() == 0)
        return fail(error, QStringLiteral("port must be 1-65535"));
    if (parsed.port() > 0)
        url.port = quint16(parsed.port());
    url.user = parsed.userName(QUrl::FullyDecoded);
    url.password = parsed.password(QUrl::FullyDecoded);
    url.database = parsed.path(QUrl::FullyDecoded).mid(1);
    if (url.database.isEmpty() || url.database.contains(u'/'))
        return fail(error,
            QStringLiteral("postgres:// URL needs a database name, as in "
                           "postgres://user:password@host:5432/wingman"));
    const QUrlQuery query(parsed);
    for (const auto &[key, value] : query.queryItems(QUrl::FullyDecoded))
        url.connectOptions.append(key + u'=' + value);
    return url;
}

QString StorageUrl::redacted(const QString &text)
{
    if (!isPostgresScheme(text.trimmed()))
        return text;
    QUrl url(text.trimmed());
    if (!url.isValid()) {
        // Cannot parse it, so hide everything between "://" and the last '@'.
        const qsizetype start = text.indexOf(QLatin1String("://")) + 3;
        const qsizetype at = text.lastIndexOf(u'@');
        return at > start ? text.left(start) + QStringLiteral("***") + text.mid(at) : text;
    }
    if (!url.password().isEmpty())
        url.setPassword(QStringLiteral("***"));
    return url.toString();
}

QString StorageUrl::postgresLocation() const
{
    return QStringLiteral("%1:%2/%3").arg(host).arg(port).arg(database);
}

} // namespace wingman::storage

#pragma once

#include <QString>
#include <QStringList>
#include <optional>

namespace wingman::storage {

// The `storage` option: `memory:`, `sqlite:<path>` or `postgres://user:pass@host:port/db`
// (`postgresql://` too; query items such as `?sslmode=require` become libpq connect options).
struct StorageUrl {
    enum class Kind { Memory, Sqlite, Postgres };

    Kind kind = Kind::Memory;
    QString path; // sqlite
    QString host = QStringLiteral("localhost");
    quint16 port = 5432;
    QString user;
    QString password;
    QString database;
    QStringList connectOptions; // "key=value"

    // nullopt with *error saying what is wrong (never quoting a password).
    static std::optional<StorageUrl> parse(const QString &text, QString *error = nullptr);
    // The URL with any password replaced by "***", fit for logs and error messages.
    static QString redacted(const QString &text);
    // "host:port/db", how messages name a PostgreSQL database.
    QString postgresLocation() const;
};

} // namespace wingman::storage

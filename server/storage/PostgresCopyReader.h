#pragma once

#include <QByteArrayView>
#include <QString>

#include <functional>
#include <vector>

struct pg_conn;

namespace wingman::storage {

// Reads a table through `COPY … TO STDOUT (FORMAT binary)` on a libpq connection, one row at a
// time: values arrive in their binary form (no text to parse, no QVariant per value) as the
// server streams them, so memory stays bounded whatever the table's size.
class PostgresCopyReader
{
public:
    // One value of a row, pointing into libpq's buffer: valid during the row callback only.
    struct Field {
        const char *data = nullptr;
        qint32 size = -1; // -1: SQL NULL

        bool isNull() const { return size < 0; }
        QByteArrayView bytes() const { return { data, isNull() ? 0 : size }; }
        QString text() const { return QString::fromUtf8(data, isNull() ? 0 : size); }
        // A bigint's and an integer's value; 0 for a field of another size.
        qint64 int64() const;
        qint32 int32() const;
    };
    using Row = std::function<QString(const std::vector<Field> &fields)>;

    explicit PostgresCopyReader(pg_conn *connection);

    // Copies the columns of table, calling row for each row until it returns an error line or
    // cancelled() says so; the first error or empty.
    QString read(const QString &table, const QStringList &columns, const Row &row,
        const std::function<bool()> &cancelled);

private:
    QString readRows(const char *data, int size, bool *headerRead, std::vector<Field> &fields,
        const Row &row, bool *done);
    QString connectionError() const;

    pg_conn *m_connection;
};

} // namespace wingman::storage

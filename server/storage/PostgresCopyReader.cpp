#include "storage/PostgresCopyReader.h"

#include <QRegularExpression>
#include <QStringList>
#include <QtEndian>

#include <libpq-fe.h>

#include <cstring>

namespace wingman::storage {

namespace {

// The binary COPY header: an 11-byte signature, a flags word and the header extension's length.
constexpr char kSignature[] = "PGCOPY\n\377\r\n";
constexpr int kSignatureBytes = 11; // with the terminating zero byte
constexpr int kHeaderBytes = kSignatureBytes + 8;

QString oneLine(const char *message)
{
    static const QRegularExpression whitespace(QStringLiteral("\\s+"));
    return QString::fromUtf8(message).replace(whitespace, QStringLiteral(" ")).trimmed();
}

} // namespace

qint64 PostgresCopyReader::Field::int64() const
{
    return size == 8 ? qFromBigEndian<qint64>(data) : 0;
}

qint32 PostgresCopyReader::Field::int32() const
{
    return size == 4 ? qFromBigEndian<qint32>(data) : 0;
}

PostgresCopyReader::PostgresCopyReader(pg_conn *connection)
    : m_connection(connection)
{ }

QString PostgresCopyReader::connectionError() const
{
    return oneLine(PQerrorMessage(m_connection));
}

QString PostgresCopyReader::readRows(const char *data, int size, bool *headerRead,
    std::vector<Field> &fields, const Row &row, bool *done)
{
    const char *at = data;
    const char *const end = data + size;
    const QString malformed = QStringLiteral("malformed binary COPY data");
    if (!*headerRead) {
        if (size < kHeaderBytes || std::memcmp(at, kSignature, kSignatureBytes) != 0)
            return malformed;
        const qint32 extension = qFromBigEndian<qint32>(at + kSignatureBytes + 4);
        if (extension < 0 || extension > end - at - kHeaderBytes)
            return malformed;
        at += kHeaderBytes + extension;
        *headerRead = true;
    }
    while (at < end) {
        if (end - at < 2)
            return malformed;
        const qint16 count = qFromBigEndian<qint16>(at);
        at += 2;
        if (count == -1) {
            *done = true;
            return {};
        }
        if (count != qint16(fields.size()))
            return malformed;
        for (Field &field : fields) {
            if (end - at < 4)
                return malformed;
            field.size = qFromBigEndian<qint32>(at);
            at += 4;
            field.data = at;
            if (field.size > end - at)
                return malformed;
            if (field.size > 0)
                at += field.size;
        }
        if (QString error = row(fields); !error.isEmpty())
            return error;
    }
    return {};
}

QString PostgresCopyReader::read(const QString &table, const QStringList &columns, const Row &row,
    const std::function<bool()> &cancelled)
{
    const QByteArray sql = QStringLiteral("COPY %1 (%2) TO STDOUT (FORMAT binary)")
                               .arg(table, columns.join(QStringLiteral(", ")))
                               .toUtf8();
    PGresult *result = PQexec(m_connection, sql.constData());
    if (PQresultStatus(result) != PGRES_COPY_OUT) {
        const QString error = oneLine(PQresultErrorMessage(result));
        PQclear(result);
        return error;
    }
    PQclear(result);

    std::vector<Field> fields(size_t(columns.size()));
    bool headerRead = false;
    bool done = false;
    QString error;
    for (qint64 messages = 1;; ++messages) {
        char *buffer = nullptr;
        const int size = PQgetCopyData(m_connection, &buffer, 0);
        if (size == -1)
            break;
        if (size < 0) {
            error = connectionError();
            break;
        }
        if (error.isEmpty() && !done)
            error = readRows(buffer, size, &headerRead, fields, row, &done);
        PQfreemem(buffer);
        if (error.isEmpty() && (messages & 0xffff) == 0 && cancelled())
            error = QStringLiteral("closed while loading");
        if (!error.isEmpty()) {
            // The rest is not wanted: the server stops sending, and what is on its way drains.
            if (PGcancel *cancel = PQgetCancel(m_connection)) {
                char reason[256];
                PQcancel(cancel, reason, sizeof reason);
                PQfreeCancel(cancel);
            }
            while (PQgetCopyData(m_connection, &buffer, 0) > 0)
                PQfreemem(buffer);
            break;
        }
    }
    while ((result = PQgetResult(m_connection))) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && error.isEmpty())
            error = oneLine(PQresultErrorMessage(result));
        PQclear(result);
    }
    if (error.isEmpty() && !done)
        error = QStringLiteral("binary COPY data ended early");
    return error;
}

} // namespace wingman::storage

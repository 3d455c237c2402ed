#pragma once

#include "storage/GroupRows.h"

#include <QByteArray>

#include <vector>

struct pg_conn;

namespace wingman::storage {

// GroupWriter for PostgreSQL through libpq, on the connection Qt SQL opened
// (QSqlDriver::handle()). A group is reduced to GroupRows; each kind of row then goes out as one
// prepared statement whose parameters are arrays in PostgreSQL's binary format, unnested by the
// server (an upsert of every row of the kind, or a delete of every removed one), and the whole
// transaction (BEGIN, those statements, COMMIT) as one pipeline: one round trip per group commit,
// and nothing for the server to parse per value. Qt's QPSQL sends every value as an SQL literal.
class PostgresRecordWriter : public GroupWriter
{
public:
    explicit PostgresRecordWriter(pg_conn *connection);
    ~PostgresRecordWriter() override;

    QString commit(
        const std::vector<const QList<StorageWrite> *> &groups, const Meta &meta) override;

private:
    enum Statement {
        DeleteLww,
        PutLww,
        DeleteOr,
        PutOr,
        DeleteTombstone,
        PutTombstone,
        PutMeta,
        PutJournal,
        TrimJournal,
        StatementCount
    };

    // Prepares the statements not prepared yet.
    QString prepare();
    // Queues statement with params (binary); false when libpq refuses it.
    bool send(Statement statement, const std::vector<QByteArray> &params);
    bool sendCommand(const char *sql);
    void sendRecords(const std::vector<GroupRows::RecordRow> &rows, Statement remove, Statement put,
        bool orRows);
    void sendTombstones();
    void sendMeta();
    void sendJournal();
    // Reads the results of everything sent up to the pipeline's sync; the first error or empty.
    QString collect();
    QString connectionError() const;

    pg_conn *m_connection;
    int m_preparedCount = 0;
    bool m_sendFailed = false;
    GroupRows m_rows;
};

} // namespace wingman::storage

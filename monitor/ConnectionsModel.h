#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QStringList>

namespace wingman::monitor {

// The client connections of one node, one row each, as the monitor feed reports them.
class ConnectionsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        IdColumn,
        RemoteColumn,
        AuthColumn,
        PrincipalColumn,
        SinceColumn,
        MessagesInColumn,
        MessagesOutColumn,
        BytesInColumn,
        BytesOutColumn,
        TrafficColumn,
        QueuedColumn,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole, // numbers as numbers, so traffic sorts by size
        AuthStateRole, // "pending", "authenticated" or "failed"
        ConnectionIdRole,
    };

    struct Row {
        quint64 id = 0;
        QString remoteAddress;
        QString authState;
        QString user;
        QStringList roles;
        QDateTime connectedAt;
        quint64 messagesIn = 0;
        quint64 messagesOut = 0;
        quint64 bytesIn = 0;
        quint64 bytesOut = 0;
        qint64 queuedBytes = 0;
    };

    explicit ConnectionsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void reset(const QJsonArray &connections);
    void upsert(const QJsonObject &connection);
    void remove(quint64 id);
    // Traffic figures of open connections: [{id, messagesIn, ..., queuedBytes}].
    void updateTraffic(const QJsonArray &traffic);
    void clear();

    // -1 when absent.
    int rowOf(quint64 id) const;
    const Row &rowAt(int row) const { return m_rows.at(row); }
    int countIn(const QString &authState) const;

private:
    static Row rowFrom(const QJsonObject &object);

    QList<Row> m_rows;
};

// Text colour and tint of an auth state, shared by every view that shows one.
QColor authStateColor(const QString &authState);
QColor authStateTint(const QString &authState);
QString formatBytes(quint64 bytes);

} // namespace wingman::monitor

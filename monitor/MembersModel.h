#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QJsonArray>
#include <QList>

namespace wingman::monitor {

// The cluster members one node sees, with their link state.
class MembersModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        NodeColumn,
        AddressColumn,
        LinkColumn,
        MembershipColumn,
        RttColumn,
        HintQueueColumn,
        ReplicatedColumn,
        SinceColumn,
        ColumnCount
    };
    enum Role { LinkStateRole = Qt::UserRole };

    struct Row {
        QString nodeId;
        QString address;
        QString state; // the link: "up" or "down"
        QDateTime since;
        QString membership; // joining, up, suspect, down, leaving, left; empty if never answered
        double rttMs = -1; // -1: not measured
        qint64 hintQueueBytes = 0; // changes waiting for the member's ack
        quint64 changesSent = 0;
        quint64 changesReceived = 0;
        friend bool operator==(const Row &, const Row &) = default;
    };

    explicit MembersModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Replaces the rows; when the same members come in the same order, the rows are updated in
    // place (dataChanged) so that views keep their selection.
    void reset(const QJsonArray &members);
    // -1 when absent.
    int rowOf(const QString &nodeId) const;
    const Row &rowAt(int row) const { return m_rows.at(row); }
    int countIn(const QString &state) const;

private:
    QList<Row> m_rows;
};

} // namespace wingman::monitor

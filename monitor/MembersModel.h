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
    enum Column { NodeColumn, AddressColumn, LinkColumn, SinceColumn, ColumnCount };
    enum Role { LinkStateRole = Qt::UserRole };

    struct Row {
        QString nodeId;
        QString address;
        QString state; // "up" or "down"
        QDateTime since;
    };

    explicit MembersModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void reset(const QJsonArray &members);
    // -1 when absent.
    int rowOf(const QString &nodeId) const;
    const Row &rowAt(int row) const { return m_rows.at(row); }
    int countIn(const QString &state) const;

private:
    QList<Row> m_rows;
};

} // namespace wingman::monitor

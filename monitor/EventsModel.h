#pragma once

#include <QAbstractTableModel>
#include <QDateTime>
#include <QJsonObject>
#include <QList>

namespace wingman::monitor {

// Notable events of one node (auth failures, rejections, slow consumers, peers down), newest
// last, at most kCapacity.
class EventsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    static constexpr int kCapacity = 1000;
    enum Column { TimeColumn, KindColumn, DetailColumn, ColumnCount };
    enum Role { KindRole = Qt::UserRole };

    struct Row {
        QDateTime at;
        QString kind;
        QString detail;
    };

    explicit EventsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // {at, kind, detail}
    void append(const QJsonObject &event);
    void append(const QString &kind, const QString &detail);
    void clear();
    int countOf(const QString &kind) const;

private:
    void appendRow(Row row);

    QList<Row> m_rows;
};

} // namespace wingman::monitor

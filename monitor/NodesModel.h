#pragma once

#include <QAbstractTableModel>
#include <QList>

namespace wingman::monitor {

class NodeMonitor;

// The cluster overview: one row per monitored node with its feed, state and load.
class NodesModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        NodeColumn,
        AddressColumn,
        FeedColumn,
        StateColumn,
        UptimeColumn,
        ConnectionsColumn,
        OpsColumn,
        MembersColumn,
        ClusterStateColumn,
        TableColumn,
        PartitionsColumn,
        DegradedColumn,
        ColumnCount
    };

    explicit NodesModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void addNode(NodeMonitor *node);
    void removeNode(NodeMonitor *node);
    NodeMonitor *nodeAt(int row) const { return m_nodes.at(row); }
    // The node's partition table (version, coordinator) differs from another watched node's:
    // a cluster whose nodes disagree is flagged, since clients may then be told different
    // owners.
    bool disagreesOnTable(int row) const;

private:
    QList<NodeMonitor *> m_nodes;
};

QString formatUptime(qint64 ms);

} // namespace wingman::monitor

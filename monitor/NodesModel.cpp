#include "NodesModel.h"

#include "ConnectionsModel.h"
#include "MembersModel.h"
#include "NodeMonitor.h"

#include <QColor>

#include <algorithm>

namespace wingman::monitor {

QString formatUptime(qint64 ms)
{
    const qint64 seconds = ms / 1000;
    if (seconds < 3600)
        return QStringLiteral("%1m %2s")
            .arg(seconds / 60)
            .arg(seconds % 60, 2, 10, QLatin1Char('0'));
    if (seconds < 86400)
        return QStringLiteral("%1h %2m")
            .arg(seconds / 3600)
            .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1d %2h").arg(seconds / 86400).arg((seconds / 3600) % 24);
}

NodesModel::NodesModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int NodesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_nodes.size());
}

int NodesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant NodesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_nodes.size())
        return {};
    const NodeMonitor *node = m_nodes.at(index.row());
    const bool connected = node->feedState() == FeedClient::State::Connected;
    if (role == Qt::ForegroundRole && index.column() == FeedColumn)
        return connected ? QColor(0x1b, 0x7f, 0x3b) : QColor(0xc0, 0x1c, 0x28);
    const NodeMonitor::Status &status = node->status();
    if (index.column() == TableColumn && disagreesOnTable(index.row())) {
        if (role == Qt::BackgroundRole)
            return QColor(0xfb, 0xe3, 0xe4);
        if (role == Qt::ToolTipRole)
            return tr("This node's partition table differs from another node's");
    }
    if (role == Qt::ForegroundRole && index.column() == DegradedColumn && status.acksDegraded > 0)
        return QColor(0xc0, 0x1c, 0x28);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case NodeColumn:
        return node->title();
    case AddressColumn:
        return node->address();
    case FeedColumn:
        return feedStateName(node->feedState());
    case StateColumn:
        return status.state;
    case UptimeColumn:
        return connected ? formatUptime(status.uptimeMs) : QStringLiteral("—");
    case ConnectionsColumn:
        return node->connections()->rowCount();
    case OpsColumn:
        return QString::number(node->opsPerSecond(), 'f', 1);
    case MembersColumn:
        return QStringLiteral("%1 / %2")
            .arg(node->members()->countIn(QStringLiteral("up")))
            .arg(node->members()->rowCount());
    case ClusterStateColumn:
        return status.clusterState;
    case TableColumn:
        return status.tableVersion > 0
            ? tr("v%1 by %2").arg(status.tableVersion).arg(status.coordinator)
            : QString();
    case PartitionsColumn:
        return QStringLiteral("%1 / %2").arg(status.partitionsOwned).arg(status.partitionsBackup);
    case DegradedColumn:
        return QString::number(status.acksDegraded);
    default:
        return {};
    }
}

QVariant NodesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount]
        = { "Node", "Metrics address", "Feed", "State", "Uptime", "Connections", "Ops/s",
              "Members up", "Cluster", "Partition table", "Owned / backup", "Degraded acks" };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

void NodesModel::addNode(NodeMonitor *node)
{
    beginInsertRows({}, int(m_nodes.size()), int(m_nodes.size()));
    m_nodes.append(node);
    endInsertRows();
    connect(node, &NodeMonitor::statusChanged, this, [this, node] {
        const int row = int(m_nodes.indexOf(node));
        if (row < 0)
            return;
        Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
        // One node's table can make every other row agree or disagree.
        if (m_nodes.size() > 1)
            Q_EMIT dataChanged(index(0, TableColumn), index(int(m_nodes.size()) - 1, TableColumn));
    });
    connect(node, &QObject::destroyed, this, [this, node] { removeNode(node); });
}

void NodesModel::removeNode(NodeMonitor *node)
{
    const int row = int(m_nodes.indexOf(node));
    if (row < 0)
        return;
    node->disconnect(this);
    beginRemoveRows({}, row, row);
    m_nodes.removeAt(row);
    endRemoveRows();
}

bool NodesModel::disagreesOnTable(int row) const
{
    const NodeMonitor::Status &mine = m_nodes.at(row)->status();
    if (m_nodes.at(row)->feedState() != FeedClient::State::Connected || mine.tableVersion == 0)
        return false;
    return std::any_of(m_nodes.cbegin(), m_nodes.cend(), [&mine](const NodeMonitor *other) {
        const NodeMonitor::Status &theirs = other->status();
        return other->feedState() == FeedClient::State::Connected && theirs.tableVersion > 0
            && (theirs.tableVersion != mine.tableVersion || theirs.coordinator != mine.coordinator);
    });
}

} // namespace wingman::monitor

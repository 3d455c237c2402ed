#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QTableView;

namespace wingman::monitor {

class ConnectionFilterModel;
class NodeMonitor;
class TrafficChart;

// One node's tab: header figures, connections (filterable by auth state, sortable by traffic),
// cluster members, the events log and the traffic chart.
class NodeView : public QWidget
{
    Q_OBJECT
public:
    explicit NodeView(NodeMonitor *node, QWidget *parent = nullptr);

    NodeMonitor *node() const { return m_node; }
    ConnectionFilterModel *connectionFilter() const { return m_filter; }

private:
    void refreshHeader();
    QLabel *addField(const QString &name);

    NodeMonitor *m_node;
    ConnectionFilterModel *m_filter;
    QComboBox *m_authFilter;
    QLabel *m_nodeId;
    QLabel *m_clientPort;
    QLabel *m_clusterPort;
    QLabel *m_metricsPort;
    QLabel *m_uptime;
    QLabel *m_state;
    QLabel *m_feed;
    QTableView *m_connectionsView;
    TrafficChart *m_chart;
};

} // namespace wingman::monitor

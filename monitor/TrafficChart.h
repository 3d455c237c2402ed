#pragma once

#include <QChartView>

class QLineSeries;
class QValueAxis;

namespace wingman::monitor {

class NodeMonitor;

// Ops per second and open connections of one node over the last minutes.
class TrafficChart : public QChartView
{
    Q_OBJECT
public:
    static constexpr int kWindowSeconds = 300;
    static constexpr int kMinimumSpanSeconds = 10;

    explicit TrafficChart(NodeMonitor *node, QWidget *parent = nullptr);

private:
    void refresh();

    NodeMonitor *m_node;
    QLineSeries *m_ops;
    QLineSeries *m_connections;
    QValueAxis *m_time;
    QValueAxis *m_opsAxis;
    QValueAxis *m_connectionsAxis;
};

} // namespace wingman::monitor

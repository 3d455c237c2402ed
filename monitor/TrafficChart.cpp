#include "TrafficChart.h"

#include "NodeMonitor.h"

#include <QChart>
#include <QDateTime>
#include <QLineSeries>
#include <QValueAxis>

#include <algorithm>

namespace wingman::monitor {

TrafficChart::TrafficChart(NodeMonitor *node, QWidget *parent)
    : QChartView(parent)
    , m_node(node)
    , m_ops(new QLineSeries)
    , m_connections(new QLineSeries)
    , m_time(new QValueAxis)
    , m_opsAxis(new QValueAxis)
    , m_connectionsAxis(new QValueAxis)
{
    auto *chart = new QChart;
    chart->setTitle(tr("Ops per second and open connections"));
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_ops->setName(tr("ops/s"));
    m_connections->setName(tr("connections"));
    chart->addSeries(m_ops);
    chart->addSeries(m_connections);

    m_time->setRange(-kWindowSeconds, 0);
    m_time->setLabelFormat(QStringLiteral("%ds"));
    m_time->setTickCount(6);
    m_opsAxis->setLabelFormat(QStringLiteral("%.0f"));
    m_opsAxis->setTitleText(tr("ops/s"));
    m_connectionsAxis->setLabelFormat(QStringLiteral("%d"));
    m_connectionsAxis->setTitleText(tr("connections"));
    chart->addAxis(m_time, Qt::AlignBottom);
    chart->addAxis(m_opsAxis, Qt::AlignLeft);
    chart->addAxis(m_connectionsAxis, Qt::AlignRight);
    m_ops->attachAxis(m_time);
    m_ops->attachAxis(m_opsAxis);
    m_connections->attachAxis(m_time);
    m_connections->attachAxis(m_connectionsAxis);

    // QChartView starts with a chart of its own, which setChart() releases rather than deletes.
    QChart *const initial = this->chart();
    setChart(chart);
    delete initial;
    setRenderHint(QPainter::Antialiasing);
    setMinimumHeight(180);
    connect(node, &NodeMonitor::sampled, this, &TrafficChart::refresh);
    refresh();
}

void TrafficChart::refresh()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QList<QPointF> ops;
    QList<QPointF> connections;
    double maxOps = 1;
    int maxConnections = 1;
    double oldest = 0;
    for (const NodeMonitor::Sample &sample : m_node->history()) {
        const double x = double(sample.atMs - now) / 1000.0;
        if (x < -kWindowSeconds)
            continue;
        oldest = std::min(oldest, x);
        ops.append({ x, sample.opsPerSecond });
        connections.append({ x, double(sample.connections) });
        maxOps = std::max(maxOps, sample.opsPerSecond);
        maxConnections = std::max(maxConnections, sample.connections);
    }
    // The axis grows with the history up to the whole window, so a fresh feed is not a sliver.
    const double span
        = std::clamp(-oldest * 1.1, double(kMinimumSpanSeconds), double(kWindowSeconds));
    m_time->setRange(-span, 0);
    m_ops->replace(ops);
    m_connections->replace(connections);
    m_opsAxis->setRange(0, maxOps * 1.2);
    m_opsAxis->applyNiceNumbers();
    m_connectionsAxis->setRange(0, maxConnections + 1);
    m_connectionsAxis->applyNiceNumbers();
}

} // namespace wingman::monitor

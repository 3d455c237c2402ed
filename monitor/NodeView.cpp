#include "NodeView.h"

#include "ConnectionFilterModel.h"
#include "ConnectionsModel.h"
#include "EventsModel.h"
#include "MembersModel.h"
#include "NodeMonitor.h"
#include "NodesModel.h"
#include "TrafficChart.h"

#include <QComboBox>
#include <QGridLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace wingman::monitor {

namespace {

QTableView *makeTable(QAbstractItemModel *model, QWidget *parent)
{
    auto *view = new QTableView(parent);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setAlternatingRowColors(true);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(22);
    view->horizontalHeader()->setStretchLastSection(true);
    view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    return view;
}

QWidget *titled(const QString &title, QWidget *content, QWidget *extra = nullptr)
{
    auto *box = new QGroupBox(title);
    auto *layout = new QVBoxLayout(box);
    layout->setContentsMargins(6, 6, 6, 6);
    if (extra)
        layout->addWidget(extra);
    layout->addWidget(content);
    return box;
}

} // namespace

NodeView::NodeView(NodeMonitor *node, QWidget *parent)
    : QWidget(parent)
    , m_node(node)
    , m_filter(new ConnectionFilterModel(this))
    , m_authFilter(new QComboBox(this))
{
    auto *layout = new QVBoxLayout(this);

    auto *header = new QWidget(this);
    auto *grid = new QGridLayout(header);
    grid->setContentsMargins(0, 0, 0, 0);
    m_nodeId = addField(tr("Node"));
    m_state = addField(tr("State"));
    m_uptime = addField(tr("Uptime"));
    m_clientPort = addField(tr("Client port"));
    m_clusterPort = addField(tr("Cluster port"));
    m_metricsPort = addField(tr("Metrics port"));
    m_feed = addField(tr("Feed"));
    const QList<QLabel *> fields { m_nodeId, m_state, m_uptime, m_clientPort, m_clusterPort,
        m_metricsPort, m_feed };
    for (int i = 0; i < fields.size(); ++i) {
        auto *name = new QLabel(fields[i]->objectName(), header);
        name->setStyleSheet(QStringLiteral("color: palette(mid); font-size: 9pt;"));
        QFont font = fields[i]->font();
        font.setBold(true);
        font.setPointSizeF(font.pointSizeF() * 1.2);
        fields[i]->setFont(font);
        fields[i]->setParent(header);
        grid->addWidget(name, 0, i);
        grid->addWidget(fields[i], 1, i);
    }
    layout->addWidget(header);

    m_filter->setSourceModel(node->connections());
    m_authFilter->addItem(tr("All auth states"), QString());
    m_authFilter->addItem(tr("Pending"), QStringLiteral("pending"));
    m_authFilter->addItem(tr("Authenticated"), QStringLiteral("authenticated"));
    m_authFilter->addItem(tr("Failed"), QStringLiteral("failed"));
    connect(m_authFilter, &QComboBox::currentIndexChanged, this,
        [this] { m_filter->setAuthStateFilter(m_authFilter->currentData().toString()); });
    m_connectionsView = makeTable(m_filter, this);
    m_connectionsView->setSortingEnabled(true);
    m_connectionsView->sortByColumn(ConnectionsModel::TrafficColumn, Qt::DescendingOrder);
    m_connectionsView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto *membersView = makeTable(node->members(), this);
    auto *eventsView = makeTable(node->events(), this);
    eventsView->horizontalHeader()->resizeSection(EventsModel::TimeColumn, 70);
    eventsView->horizontalHeader()->resizeSection(EventsModel::KindColumn, 110);
    membersView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    membersView->horizontalHeader()->setStretchLastSection(true);
    connect(node->events(), &QAbstractItemModel::rowsInserted, eventsView,
        [eventsView] { eventsView->scrollToBottom(); });
    m_chart = new TrafficChart(node, this);

    auto *side = new QSplitter(Qt::Vertical, this);
    side->addWidget(titled(tr("Cluster members"), membersView));
    side->addWidget(titled(tr("Events"), eventsView));
    auto *top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(titled(tr("Connections"), m_connectionsView, m_authFilter));
    top->addWidget(side);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    auto *main = new QSplitter(Qt::Vertical, this);
    main->addWidget(top);
    main->addWidget(titled(tr("Traffic"), m_chart));
    main->setStretchFactor(0, 3);
    main->setStretchFactor(1, 2);
    layout->addWidget(main, 1);

    connect(node, &NodeMonitor::statusChanged, this, &NodeView::refreshHeader);
    refreshHeader();
}

QLabel *NodeView::addField(const QString &name)
{
    auto *label = new QLabel(QStringLiteral("—"));
    label->setObjectName(name);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

void NodeView::refreshHeader()
{
    const NodeMonitor::Status &status = m_node->status();
    const bool connected = m_node->feedState() == FeedClient::State::Connected;
    const auto port = [](quint16 p) { return p ? QString::number(p) : QStringLiteral("—"); };
    m_nodeId->setText(status.nodeId.isEmpty() ? m_node->address() : status.nodeId);
    m_state->setText(status.state.isEmpty() ? QStringLiteral("—") : status.state);
    m_uptime->setText(connected ? formatUptime(status.uptimeMs) : QStringLiteral("—"));
    m_clientPort->setText(port(status.port));
    m_clusterPort->setText(port(status.clusterPort));
    m_metricsPort->setText(port(status.metricsPort ? status.metricsPort : m_node->metricsPort()));
    QString feed = feedStateName(m_node->feedState());
    if (!connected && !m_node->feed().lastError().isEmpty())
        m_feed->setToolTip(m_node->feed().lastError());
    else
        m_feed->setToolTip({});
    m_feed->setText(feed);
    m_feed->setStyleSheet(
        connected ? QStringLiteral("color: #1b7f3b;") : QStringLiteral("color: #c01c28;"));
}

} // namespace wingman::monitor

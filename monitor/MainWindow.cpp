#include "MainWindow.h"

#include "ConnectDialog.h"
#include "MonitorIcon.h"
#include "NodeMonitor.h"
#include "NodeView.h"
#include "NodesModel.h"
#include "TokenStore.h"

#include <QAction>
#include <QApplication>
#include <QHeaderView>
#include <QMenuBar>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace wingman::monitor {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
    , m_tabs(new QTabWidget(this))
    , m_nodes(new NodesModel(this))
    , m_overview(new QTableView(this))
    , m_tokens(new TokenStore(this))
{
    setWindowTitle(tr("Wingman Monitor"));
    setWindowIcon(monitorIcon());
    m_overview->setModel(m_nodes);
    m_overview->verticalHeader()->hide();
    m_overview->horizontalHeader()->setStretchLastSection(true);
    m_overview->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_overview->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_overview->setEditTriggers(QAbstractItemView::NoEditTriggers);
    connect(m_overview, &QTableView::doubleClicked, this,
        [this](const QModelIndex &index) { m_tabs->setCurrentIndex(index.row() + 1); });
    m_tabs->addTab(m_overview, tr("Cluster"));
    m_tabs->setTabsClosable(true);
    m_tabs->tabBar()->setTabButton(0, QTabBar::RightSide, nullptr);
    connect(m_tabs, &QTabWidget::tabCloseRequested, this, &MainWindow::closeTab);
    setCentralWidget(m_tabs);

    QMenu *file = menuBar()->addMenu(tr("&Node"));
    QAction *connectAction = file->addAction(tr("&Connect…"), this, &MainWindow::showConnectDialog);
    connectAction->setShortcut(QKeySequence::New);
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), qApp, &QApplication::quit);
    quit->setShortcut(QKeySequence::Quit);
    resize(1280, 820);
}

MainWindow::~MainWindow() = default;

NodeMonitor *MainWindow::addNode(const QUrl &endpoint, const QByteArray &token)
{
    auto *node = new NodeMonitor(endpoint, token, this);
    node->feed().setCaCertificates(m_caCertificates);
    auto *view = new NodeView(node, m_tabs);
    m_nodes->addNode(node);
    m_tabs->addTab(view, node->title());
    connect(node, &NodeMonitor::statusChanged, view, [this, view] { refreshTabTitle(view); });
    node->start();
    return node;
}

void MainWindow::setCaCertificates(const QList<QSslCertificate> &certificates)
{
    m_caCertificates = certificates;
}

QList<NodeMonitor *> MainWindow::nodes() const
{
    QList<NodeMonitor *> result;
    for (int i = 1; i < m_tabs->count(); ++i) {
        if (auto *view = qobject_cast<NodeView *>(m_tabs->widget(i)))
            result.append(view->node());
    }
    return result;
}

void MainWindow::showConnectDialog()
{
    auto *dialog = new ConnectDialog(m_tokens, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        addNode(dialog->endpoint(), dialog->token());
        m_tabs->setCurrentIndex(m_tabs->count() - 1);
    });
    dialog->open();
}

void MainWindow::closeTab(int index)
{
    auto *view = qobject_cast<NodeView *>(m_tabs->widget(index));
    if (!view)
        return;
    NodeMonitor *node = view->node();
    m_tabs->removeTab(index);
    view->deleteLater();
    node->stop();
    node->deleteLater();
}

void MainWindow::refreshTabTitle(NodeView *view)
{
    const int index = m_tabs->indexOf(view);
    if (index < 0)
        return;
    const NodeMonitor *node = view->node();
    const bool connected = node->feedState() == FeedClient::State::Connected;
    m_tabs->setTabText(index,
        connected ? node->title()
                  : tr("%1 (%2)").arg(node->title(), feedStateName(node->feedState())));
}

} // namespace wingman::monitor

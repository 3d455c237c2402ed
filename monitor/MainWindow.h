#pragma once

#include <QMainWindow>
#include <QSslCertificate>

class QTabWidget;
class QTableView;

namespace wingman::monitor {

class NodeMonitor;
class NodeView;
class NodesModel;
class TokenStore;

// Tabs: a cluster overview first, then one per monitored node.
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    // Starts monitoring a node's feed (endpoint as NodeMonitor takes it) and opens its tab.
    NodeMonitor *addNode(const QUrl &endpoint, const QByteArray &token);
    // Authorities trusted for https:// nodes besides the system's, for the nodes added next.
    void setCaCertificates(const QList<QSslCertificate> &certificates);
    QList<NodeMonitor *> nodes() const;
    QTabWidget *tabs() const { return m_tabs; }
    void showConnectDialog();

private:
    void closeTab(int index);
    void refreshTabTitle(NodeView *view);

    QTabWidget *m_tabs;
    NodesModel *m_nodes;
    QTableView *m_overview;
    // Outlives the connect dialog, so that a token being stored as it closes still gets there.
    TokenStore *m_tokens;
    QList<QSslCertificate> m_caCertificates;
};

} // namespace wingman::monitor

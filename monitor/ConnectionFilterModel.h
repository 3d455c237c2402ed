#pragma once

#include <QSortFilterProxyModel>

namespace wingman::monitor {

// Connections narrowed to one auth state (or all), sorted by the numbers behind each column.
class ConnectionFilterModel : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit ConnectionFilterModel(QObject *parent = nullptr);

    // Empty: every state.
    void setAuthStateFilter(const QString &authState);
    QString authStateFilter() const { return m_authState; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_authState;
};

} // namespace wingman::monitor

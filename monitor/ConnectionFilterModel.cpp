#include "ConnectionFilterModel.h"

#include "ConnectionsModel.h"

namespace wingman::monitor {

ConnectionFilterModel::ConnectionFilterModel(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(ConnectionsModel::SortRole);
    setDynamicSortFilter(true);
}

void ConnectionFilterModel::setAuthStateFilter(const QString &authState)
{
    if (m_authState == authState)
        return;
    m_authState = authState;
    invalidateFilter();
}

bool ConnectionFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (m_authState.isEmpty())
        return true;
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    return index.data(ConnectionsModel::AuthStateRole).toString() == m_authState;
}

} // namespace wingman::monitor

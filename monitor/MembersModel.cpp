#include "MembersModel.h"

#include <QColor>
#include <QJsonObject>

namespace wingman::monitor {

MembersModel::MembersModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int MembersModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int MembersModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MembersModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    const bool up = row.state == u"up";
    if (role == LinkStateRole)
        return row.state;
    if (role == Qt::ForegroundRole && index.column() == LinkColumn)
        return up ? QColor(0x1b, 0x7f, 0x3b) : QColor(0xc0, 0x1c, 0x28);
    if (role == Qt::BackgroundRole && index.column() == LinkColumn)
        return up ? QColor(0xe3, 0xf4, 0xe8) : QColor(0xfb, 0xe3, 0xe4);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case NodeColumn:
        return row.nodeId.isEmpty() ? tr("(not answering)") : row.nodeId;
    case AddressColumn:
        return row.address;
    case LinkColumn:
        return row.state;
    case SinceColumn:
        return row.since.toLocalTime().toString(QStringLiteral("HH:mm:ss"));
    default:
        return {};
    }
}

QVariant MembersModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = { "Node", "Address", "Link", "Since" };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

void MembersModel::reset(const QJsonArray &members)
{
    beginResetModel();
    m_rows.clear();
    for (const QJsonValue &value : members) {
        const QJsonObject object = value.toObject();
        m_rows.append({ object.value(QStringLiteral("nodeId")).toString(),
            object.value(QStringLiteral("address")).toString(),
            object.value(QStringLiteral("state")).toString(),
            QDateTime::fromString(
                object.value(QStringLiteral("since")).toString(), Qt::ISODateWithMs) });
    }
    endResetModel();
}

int MembersModel::rowOf(const QString &nodeId) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).nodeId == nodeId)
            return i;
    }
    return -1;
}

int MembersModel::countIn(const QString &state) const
{
    return int(std::count_if(
        m_rows.cbegin(), m_rows.cend(), [&state](const Row &row) { return row.state == state; }));
}

} // namespace wingman::monitor

#include "MembersModel.h"

#include <QColor>
#include <QJsonObject>
#include <QLocale>

#include <algorithm>

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
    if (role == Qt::ForegroundRole && index.column() == MembershipColumn
        && !row.membership.isEmpty() && row.membership != u"up")
        return QColor(0xc0, 0x1c, 0x28);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case NodeColumn:
        return row.nodeId.isEmpty() ? tr("(not answering)") : row.nodeId;
    case AddressColumn:
        return row.address;
    case LinkColumn:
        return row.state;
    case MembershipColumn:
        return row.membership;
    case RttColumn:
        return row.rttMs < 0 ? QString() : QStringLiteral("%1 ms").arg(row.rttMs, 0, 'f', 2);
    case HintQueueColumn:
        return QLocale().formattedDataSize(row.hintQueueBytes);
    case ReplicatedColumn:
        return QStringLiteral("%1 / %2").arg(row.changesSent).arg(row.changesReceived);
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
    static const char *const names[ColumnCount] = { "Node", "Address", "Link", "Membership", "RTT",
        "Hint queue", "Changes sent / received", "Since" };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

void MembersModel::reset(const QJsonArray &members)
{
    QList<Row> rows;
    for (const QJsonValue &value : members) {
        const QJsonObject object = value.toObject();
        Row row;
        row.nodeId = object.value(QStringLiteral("nodeId")).toString();
        row.address = object.value(QStringLiteral("address")).toString();
        row.state = object.value(QStringLiteral("state")).toString();
        row.since = QDateTime::fromString(
            object.value(QStringLiteral("since")).toString(), Qt::ISODateWithMs);
        row.membership = object.value(QStringLiteral("membership")).toString();
        row.rttMs = object.value(QStringLiteral("rttMs")).toDouble(-1);
        row.hintQueueBytes = qint64(object.value(QStringLiteral("hintQueueBytes")).toDouble());
        row.changesSent = quint64(object.value(QStringLiteral("changesSent")).toDouble());
        row.changesReceived = quint64(object.value(QStringLiteral("changesReceived")).toDouble());
        rows.append(std::move(row));
    }
    const bool sameMembers = rows.size() == m_rows.size()
        && std::equal(rows.cbegin(), rows.cend(), m_rows.cbegin(),
            [](const Row &a, const Row &b) { return a.nodeId == b.nodeId; });
    if (!sameMembers) {
        beginResetModel();
        m_rows = std::move(rows);
        endResetModel();
        return;
    }
    if (rows == m_rows)
        return;
    m_rows = std::move(rows);
    Q_EMIT dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
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

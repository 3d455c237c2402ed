#include "EventsModel.h"

#include <QColor>

namespace wingman::monitor {

EventsModel::EventsModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int EventsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int EventsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    if (role == KindRole)
        return row.kind;
    if (role == Qt::ForegroundRole && index.column() == KindColumn) {
        if (row.kind == u"auth-failure" || row.kind == u"peer-down" || row.kind == u"slow-consumer"
            || row.kind == u"feed-lost")
            return QColor(0xc0, 0x1c, 0x28);
        if (row.kind == u"op-rejected")
            return QColor(0xb3, 0x6b, 0x00);
        return QColor(0x1b, 0x7f, 0x3b);
    }
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole)
        return {};
    switch (index.column()) {
    case TimeColumn:
        return row.at.toLocalTime().toString(QStringLiteral("HH:mm:ss"));
    case KindColumn:
        return row.kind;
    case DetailColumn:
        return row.detail;
    default:
        return {};
    }
}

QVariant EventsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = { "Time", "Event", "Detail" };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

void EventsModel::append(const QJsonObject &event)
{
    QDateTime at
        = QDateTime::fromString(event.value(QStringLiteral("at")).toString(), Qt::ISODateWithMs);
    if (!at.isValid())
        at = QDateTime::currentDateTimeUtc();
    appendRow({ at, event.value(QStringLiteral("kind")).toString(),
        event.value(QStringLiteral("detail")).toString() });
}

void EventsModel::append(const QString &kind, const QString &detail)
{
    appendRow({ QDateTime::currentDateTimeUtc(), kind, detail });
}

void EventsModel::appendRow(Row row)
{
    if (m_rows.size() >= kCapacity) {
        beginRemoveRows({}, 0, 0);
        m_rows.removeFirst();
        endRemoveRows();
    }
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size()));
    m_rows.append(std::move(row));
    endInsertRows();
}

void EventsModel::clear()
{
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int EventsModel::countOf(const QString &kind) const
{
    return int(std::count_if(
        m_rows.cbegin(), m_rows.cend(), [&kind](const Row &row) { return row.kind == kind; }));
}

} // namespace wingman::monitor

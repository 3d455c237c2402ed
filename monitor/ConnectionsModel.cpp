#include "ConnectionsModel.h"

#include <QColor>
#include <QLocale>

#include <algorithm>

namespace wingman::monitor {

QColor authStateColor(const QString &authState)
{
    if (authState == u"authenticated")
        return QColor(0x1b, 0x7f, 0x3b);
    if (authState == u"failed")
        return QColor(0xc0, 0x1c, 0x28);
    return QColor(0xb3, 0x6b, 0x00);
}

QColor authStateTint(const QString &authState)
{
    if (authState == u"authenticated")
        return QColor(0xe3, 0xf4, 0xe8);
    if (authState == u"failed")
        return QColor(0xfb, 0xe3, 0xe4);
    return QColor(0xfd, 0xf1, 0xdc);
}

QString formatBytes(quint64 bytes)
{
    return QLocale::c().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeTraditionalFormat);
}

ConnectionsModel::ConnectionsModel(QObject *parent)
    : QAbstractTableModel(parent)
{ }

int ConnectionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ConnectionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ConnectionsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_rows.size())
        return {};
    const Row &row = m_rows.at(index.row());
    if (role == AuthStateRole)
        return row.authState;
    if (role == ConnectionIdRole)
        return row.id;
    if (role == Qt::ForegroundRole && index.column() == AuthColumn)
        return authStateColor(row.authState);
    if (role == Qt::BackgroundRole && index.column() == AuthColumn)
        return authStateTint(row.authState);
    if (role == Qt::TextAlignmentRole && index.column() >= MessagesInColumn)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == SortRole) {
        switch (index.column()) {
        case IdColumn:
            return row.id;
        case SinceColumn:
            return row.connectedAt;
        case MessagesInColumn:
            return row.messagesIn;
        case MessagesOutColumn:
            return row.messagesOut;
        case BytesInColumn:
            return row.bytesIn;
        case BytesOutColumn:
            return row.bytesOut;
        case TrafficColumn:
            return row.bytesIn + row.bytesOut;
        case QueuedColumn:
            return row.queuedBytes;
        default:
            break;
        }
    }
    if (role != Qt::DisplayRole && role != SortRole && role != Qt::ToolTipRole)
        return {};
    switch (index.column()) {
    case IdColumn:
        return row.id;
    case RemoteColumn:
        return row.remoteAddress;
    case AuthColumn:
        return row.authState;
    case PrincipalColumn:
        if (row.user.isEmpty())
            return QStringLiteral("—");
        return QStringLiteral("%1 (%2)").arg(row.user, row.roles.join(u','));
    case SinceColumn:
        return row.connectedAt.toLocalTime().toString(QStringLiteral("HH:mm:ss"));
    case MessagesInColumn:
        return row.messagesIn;
    case MessagesOutColumn:
        return row.messagesOut;
    case BytesInColumn:
        return formatBytes(row.bytesIn);
    case BytesOutColumn:
        return formatBytes(row.bytesOut);
    case TrafficColumn:
        return formatBytes(row.bytesIn + row.bytesOut);
    case QueuedColumn:
        return formatBytes(quint64(std::max<qint64>(0, row.queuedBytes)));
    default:
        return {};
    }
}

QVariant ConnectionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const names[ColumnCount] = { "Id", "Remote address", "Auth", "Principal",
        "Since", "Msgs in", "Msgs out", "Bytes in", "Bytes out", "Traffic", "Queued" };
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

ConnectionsModel::Row ConnectionsModel::rowFrom(const QJsonObject &object)
{
    Row row;
    row.id = quint64(object.value(QStringLiteral("id")).toDouble());
    row.remoteAddress = object.value(QStringLiteral("remoteAddress")).toString();
    row.authState = object.value(QStringLiteral("authState")).toString();
    row.user = object.value(QStringLiteral("user")).toString();
    for (const QJsonValue &role : object.value(QStringLiteral("roles")).toArray())
        row.roles << role.toString();
    row.connectedAt = QDateTime::fromString(
        object.value(QStringLiteral("connectedAt")).toString(), Qt::ISODateWithMs);
    row.messagesIn = quint64(object.value(QStringLiteral("messagesIn")).toDouble());
    row.messagesOut = quint64(object.value(QStringLiteral("messagesOut")).toDouble());
    row.bytesIn = quint64(object.value(QStringLiteral("bytesIn")).toDouble());
    row.bytesOut = quint64(object.value(QStringLiteral("bytesOut")).toDouble());
    row.queuedBytes = qint64(object.value(QStringLiteral("queuedBytes")).toDouble());
    return row;
}

void ConnectionsModel::reset(const QJsonArray &connections)
{
    beginResetModel();
    m_rows.clear();
    for (const QJsonValue &value : connections)
        m_rows.append(rowFrom(value.toObject()));
    endResetModel();
}

void ConnectionsModel::clear()
{
    reset({});
}

void ConnectionsModel::upsert(const QJsonObject &connection)
{
    const Row row = rowFrom(connection);
    const int at = rowOf(row.id);
    if (at >= 0) {
        m_rows[at] = row;
        Q_EMIT dataChanged(index(at, 0), index(at, ColumnCount - 1));
        return;
    }
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size()));
    m_rows.append(row);
    endInsertRows();
}

void ConnectionsModel::remove(quint64 id)
{
    const int at = rowOf(id);
    if (at < 0)
        return;
    beginRemoveRows({}, at, at);
    m_rows.removeAt(at);
    endRemoveRows();
}

void ConnectionsModel::updateTraffic(const QJsonArray &traffic)
{
    if (m_rows.isEmpty())
        return;
    for (const QJsonValue &value : traffic) {
        const QJsonObject object = value.toObject();
        const int at = rowOf(quint64(object.value(QStringLiteral("id")).toDouble()));
        if (at < 0)
            continue;
        Row &row = m_rows[at];
        row.messagesIn = quint64(object.value(QStringLiteral("messagesIn")).toDouble());
        row.messagesOut = quint64(object.value(QStringLiteral("messagesOut")).toDouble());
        row.bytesIn = quint64(object.value(QStringLiteral("bytesIn")).toDouble());
        row.bytesOut = quint64(object.value(QStringLiteral("bytesOut")).toDouble());
        row.queuedBytes = qint64(object.value(QStringLiteral("queuedBytes")).toDouble());
    }
    Q_EMIT dataChanged(index(0, MessagesInColumn), index(rowCount() - 1, QueuedColumn));
}

int ConnectionsModel::rowOf(quint64 id) const
{
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows.at(i).id == id)
            return i;
    }
    return -1;
}

int ConnectionsModel::countIn(const QString &authState) const
{
    return int(std::count_if(m_rows.cbegin(), m_rows.cend(),
        [&authState](const Row &row) { return row.authState == authState; }));
}

} // namespace wingman::monitor

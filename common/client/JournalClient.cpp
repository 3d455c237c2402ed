#include "client/JournalClient.h"

#include "client/ClientLogging.h"

#include <QUuid>

namespace wingman::client {

JournalClient::JournalClient(Send send, QObject *parent)
    : QObject(parent)
    , m_send(std::move(send))
{ }

QString JournalClient::nextId()
{
    return QStringLiteral("journal-%1-%2")
        .arg(QUuid::createUuid().toString(QUuid::WithoutBraces).left(8))
        .arg(++m_lastId);
}

QString JournalClient::read(quint64 fromSequence, int limit, const QString &mapName)
{
    protocol::JournalReadMessage request;
    request.requestId = nextId();
    request.fromSequence = QString::number(fromSequence);
    request.limit = limit;
    if (!mapName.isEmpty())
        request.mapName = mapName;
    m_send(request.toCbor());
    return request.requestId;
}

QString JournalClient::subscribe(
    std::optional<quint64> fromSequence, const QString &mapName, const QStringList &types)
{
    protocol::JournalSubscribeMessage request;
    request.requestId = nextId();
    if (fromSequence)
        request.fromSequence = QString::number(*fromSequence);
    if (!mapName.isEmpty())
        request.mapName = mapName;
    if (!types.isEmpty())
        request.types = types;
    m_subscriptions.insert(
        request.requestId, { mapName, QSet<QString>(types.begin(), types.end()) });
    m_send(request.toCbor());
    return request.requestId;
}

void JournalClient::unsubscribe(const QString &subscriptionId)
{
    if (!m_subscriptions.remove(subscriptionId))
        return;
    m_send(protocol::JournalUnsubscribeMessage { subscriptionId }.toCbor());
}

void JournalClient::handleMessage(protocol::MessageType type, const QCborMap &message)
{
    protocol::DecodeError error;
    if (type == protocol::MessageType::JournalReadResponse) {
        const auto response = protocol::JournalReadResponseMessage::fromCbor(message, &error);
        if (!response) {
            qCWarning(lcClient) << "undecodable JOURNAL_READ_RESPONSE:" << error.field
                                << error.reason;
            return;
        }
        Q_EMIT readFinished(response->requestId, response->events, response->hasMore);
        return;
    }
    const auto event = protocol::JournalEventMessage::fromCbor(message, &error);
    if (!event) {
        qCWarning(lcClient) << "undecodable JOURNAL_EVENT:" << error.field << error.reason;
        return;
    }
    Q_EMIT eventReceived(event->event);
    // Copied: a receiver may unsubscribe.
    const QHash<QString, Filter> subscriptions = m_subscriptions;
    for (auto it = subscriptions.cbegin(); it != subscriptions.cend(); ++it) {
        const Filter &filter = it.value();
        if (!filter.mapName.isEmpty() && filter.mapName != event->event.mapName)
            continue;
        if (!filter.types.isEmpty() && !filter.types.contains(event->event.type))
            continue;
        Q_EMIT subscriptionEvent(it.key(), event->event);
    }
}

} // namespace wingman::client

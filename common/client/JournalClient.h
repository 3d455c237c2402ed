#pragma once

#include "protocol/JournalMessages.h"

#include <QHash>
#include <QObject>
#include <QSet>

#include <functional>

namespace wingman::client {

// The event journal over a SyncEngine's connection (docs/protocol.md "Event journal"), as the
// TopGun client's getEventJournal() uses it: requests go out at once, answers come as signals.
// A JOURNAL_EVENT carries no subscription id, so each one is handed to every subscription whose
// own filters take it (subscriptionEvent), besides eventReceived once. Subscriptions are not
// renewed after a reconnect, as in TopGun.
class JournalClient : public QObject
{
    Q_OBJECT
public:
    using Send = std::function<void(const QCborMap &message)>;

    // JOURNAL_READ from fromSequence; the answer is readFinished with the returned request id.
    QString read(quint64 fromSequence, int limit = 100, const QString &mapName = {});
    // JOURNAL_SUBSCRIBE; returns the subscription id (the request id). Empty mapName and types:
    // every map, every type.
    QString subscribe(std::optional<quint64> fromSequence = std::nullopt,
        const QString &mapName = {}, const QStringList &types = {});
    void unsubscribe(const QString &subscriptionId);

Q_SIGNALS:
    void readFinished(const QString &requestId,
        const QList<wingman::protocol::JournalEvent> &events, bool hasMore);
    void eventReceived(const wingman::protocol::JournalEvent &event);
    void subscriptionEvent(
        const QString &subscriptionId, const wingman::protocol::JournalEvent &event);

private:
    friend class SyncEngine;

    struct Filter {
        QString mapName;
        QSet<QString> types;
    };

    JournalClient(Send send, QObject *parent);
    // JOURNAL_EVENT or JOURNAL_READ_RESPONSE from the server.
    void handleMessage(protocol::MessageType type, const QCborMap &message);
    QString nextId();

    Send m_send;
    QHash<QString, Filter> m_subscriptions;
    quint64 m_lastId = 0;
};

} // namespace wingman::client

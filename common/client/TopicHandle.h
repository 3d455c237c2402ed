#pragma once

#include <QCborValue>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

namespace wingman::protocol {
struct TopicMessage;
}

namespace wingman::client {

class SyncEngine;

// A pub/sub topic, made by SyncEngine::topic() (docs/protocol.md "Topics"). subscribe() sends
// TOPIC_SUB now if authenticated and again after every AUTH_ACK; publish() sends TOPIC_PUB, or
// queues it while offline (the newest kMaxQueued, flushed right after AUTH_ACK). The server
// never sends a publisher its own messages.
class TopicHandle : public QObject
{
    Q_OBJECT
public:
    static constexpr qsizetype kMaxQueued = 100;

    const QString &name() const { return m_name; }
    bool isSubscribed() const { return m_subscribed; }
    void subscribe();
    void unsubscribe();
    void publish(const QCborValue &data);
    qsizetype queuedCount() const { return m_queued.size(); }

Q_SIGNALS:
    void messageReceived(const QCborValue &data, const QString &publisherId, qint64 timestamp);

private:
    friend class SyncEngine;

    TopicHandle(SyncEngine *engine, QString name);
    // After AUTH_ACK: subscribe again, then send what was published offline.
    void resume();
    void deliver(const protocol::TopicMessage &message);

    QPointer<SyncEngine> m_engine;
    QString m_name;
    bool m_subscribed = false;
    QList<QCborValue> m_queued;
};

} // namespace wingman::client

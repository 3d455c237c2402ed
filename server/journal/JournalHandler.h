#pragma once

#include "journal/EventJournal.h"

#include <QHash>
#include <QSet>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::network {
class Session;
}

namespace wingman::journal {

// JOURNAL_READ, JOURNAL_SUBSCRIBE and JOURNAL_UNSUBSCRIBE (docs/protocol.md "Event journal"):
// reads the EventJournal and sends its live events to subscribed connections, each event once per
// connection when one of its subscriptions takes it, and only events of maps the principal may
// READ. Disabled, it answers READ and SUBSCRIBE with ERROR 503.
class JournalHandler
{
public:
    static constexpr qsizetype kDefaultLimit = 100;
    static constexpr qsizetype kMaxLimit = 1000;

    JournalHandler(EventJournal &journal, const auth::SecurityPolicy &policy, bool enabled);

    void handle(network::Session &session, const protocol::JournalSubscribeMessage &subscribe);
    void handle(network::Session &session, const protocol::JournalUnsubscribeMessage &unsubscribe);
    void handle(network::Session &session, const protocol::JournalReadMessage &read);
    // The session is gone: its subscriptions end.
    void forget(network::Session *session) { m_subscriptions.remove(session); }
    // Sends committed entries to the subscriptions that take them.
    void publish(const QList<JournalEntry> &entries);

    qsizetype subscriptionCount() const;

    // A sequence as a decimal string; nullopt when it is not one. Past 2^64 - 1 it reads as the
    // largest sequence.
    static std::optional<quint64> parseSequence(const QString &text);

private:
    struct Subscription {
        QString id;
        std::optional<QString> mapName;
        QSet<QString> types; // empty: every type
        bool takes(const JournalEntry &entry) const;
    };

    bool checkEnabled(network::Session &session) const;
    bool mayRead(network::Session &session, const QString &mapName) const;
    // ERROR 403 when the principal may not READ an explicitly named map.
    bool checkMap(network::Session &session, const std::optional<QString> &mapName) const;

    EventJournal &m_journal;
    const auth::SecurityPolicy &m_policy;
    const bool m_enabled;
    QHash<network::Session *, QList<Subscription>> m_subscriptions;
};

} // namespace wingman::journal

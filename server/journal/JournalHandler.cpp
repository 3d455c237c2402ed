#include "journal/JournalHandler.h"

#include "auth/SecurityPolicy.h"
#include "network/Session.h"

#include <limits>

namespace wingman::journal {

using protocol::ErrorCode;

namespace {

const QSet<QString> kTypes
    = { QStringLiteral("PUT"), QStringLiteral("UPDATE"), QStringLiteral("DELETE") };

QString invalidSequence(const QString &text)
{
    return QStringLiteral("Invalid fromSequence '%1': expected a decimal string").arg(text);
}

} // namespace

JournalHandler::JournalHandler(
    EventJournal &journal, const auth::SecurityPolicy &policy, bool enabled)
    : m_journal(journal)
    , m_policy(policy)
    , m_enabled(enabled)
{ }

std::optional<quint64> JournalHandler::parseSequence(const QString &text)
{
    if (text.isEmpty())
        return std::nullopt;
    quint64 value = 0;
    constexpr quint64 kMax = std::numeric_limits<quint64>::max();
    for (const QChar c : text) {
        if (c < u'0' || c > u'9')
            return std::nullopt;
        const auto digit = quint64(c.unicode() - u'0');
        value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
    }
    return value;
}

bool JournalHandler::Subscription::takes(const JournalEntry &entry) const
{
    if (mapName && *mapName != entry.event.mapName)
        return false;
    return types.isEmpty() || types.contains(entry.event.type);
}

qsizetype JournalHandler::subscriptionCount() const
{
    qsizetype count = 0;
    for (const QList<Subscription> &list : m_subscriptions)
        count += list.size();
    return count;
}

bool JournalHandler::checkEnabled(network::Session &session) const
{
    if (m_enabled)
        return true;
    session.sendError(ErrorCode::Unavailable, QStringLiteral("Event journal not enabled"));
    return false;
}

bool JournalHandler::mayRead(network::Session &session, const QString &mapName) const
{
    return m_policy.isAllowed(session.principal(), mapName, auth::SecurityPolicy::Action::Read);
}

bool JournalHandler::checkMap(
    network::Session &session, const std::optional<QString> &mapName) const
{
    if (!mapName || mayRead(session, *mapName))
        return true;
    session.sendError(
        ErrorCode::Forbidden, QStringLiteral("Access denied: READ on %1").arg(*mapName));
    return false;
}

void JournalHandler::handle(network::Session &session, const protocol::JournalReadMessage &read)
{
    if (!checkEnabled(session))
        return;
    const std::optional<quint64> from = parseSequence(read.fromSequence);
    if (!from) {
        session.sendError(ErrorCode::BadRequest, invalidSequence(read.fromSequence));
        return;
    }
    if (!checkMap(session, read.mapName))
        return;
    const qsizetype limit
        = qsizetype(std::clamp<qint64>(read.limit.value_or(kDefaultLimit), 1, kMaxLimit));
    const EventJournal::Page page = m_journal.read(*from, limit, [&](const JournalEntry &entry) {
        return (!read.mapName || entry.event.mapName == *read.mapName)
            && mayRead(session, entry.event.mapName);
    });
    protocol::JournalReadResponseMessage response;
    response.requestId = read.requestId;
    response.hasMore = page.hasMore;
    response.events.reserve(page.entries.size());
    for (const JournalEntry &entry : page.entries)
        response.events.append(entry.event);
    session.sendEncoded(response.encode());
}

void JournalHandler::handle(
    network::Session &session, const protocol::JournalSubscribeMessage &subscribe)
{
    if (!checkEnabled(session))
        return;
    std::optional<quint64> from;
    if (subscribe.fromSequence) {
        from = parseSequence(*subscribe.fromSequence);
        if (!from) {
            session.sendError(ErrorCode::BadRequest, invalidSequence(*subscribe.fromSequence));
            return;
        }
    }
    Subscription subscription { subscribe.requestId, subscribe.mapName, {} };
    for (const QString &type : subscribe.types.value_or(QStringList())) {
        if (!kTypes.contains(type)) {
            session.sendError(ErrorCode::BadRequest,
                QStringLiteral("Invalid journal event type '%1': expected PUT, UPDATE or DELETE")
                    .arg(type));
            return;
        }
        subscription.types.insert(type);
    }
    if (!checkMap(session, subscribe.mapName))
        return;
    const Subscription registered = subscription;
    // Registered first: should a replayed event end the connection, its departure finds it.
    QList<Subscription> &subscriptions = m_subscriptions[&session];
    subscriptions.removeIf([&](const Subscription &s) { return s.id == subscription.id; });
    subscriptions.append(std::move(subscription));
    if (!from)
        return;
    const EventJournal::Page page = m_journal.read(
        *from, std::numeric_limits<qsizetype>::max(), [&](const JournalEntry &entry) {
            return registered.takes(entry) && mayRead(session, entry.event.mapName);
        });
    for (const JournalEntry &entry : page.entries)
        session.sendEncoded(protocol::JournalEventMessage { entry.event }.encode());
}

void JournalHandler::handle(
    network::Session &session, const protocol::JournalUnsubscribeMessage &unsubscribe)
{
    const auto it = m_subscriptions.find(&session);
    if (it == m_subscriptions.end())
        return;
    it->removeIf([&](const Subscription &s) { return s.id == unsubscribe.subscriptionId; });
    if (it->isEmpty())
        m_subscriptions.erase(it);
}

void JournalHandler::publish(const QList<JournalEntry> &entries)
{
    if (m_subscriptions.isEmpty())
        return;
    // Decided before anything is sent: a send may end a connection, and with it its entry here.
    QList<std::pair<network::Session *, QList<qsizetype>>> deliveries;
    for (auto it = m_subscriptions.cbegin(); it != m_subscriptions.cend(); ++it) {
        QList<qsizetype> taken;
        for (qsizetype i = 0; i < entries.size(); ++i) {
            const JournalEntry &entry = entries.at(i);
            const bool wanted = std::any_of(
                it->cbegin(), it->cend(), [&](const Subscription &s) { return s.takes(entry); });
            if (wanted && mayRead(*it.key(), entry.event.mapName))
                taken.append(i);
        }
        if (!taken.isEmpty())
            deliveries.append({ it.key(), std::move(taken) });
    }
    // Each event is encoded once, for the first connection that takes it.
    QList<QByteArray> frames(entries.size());
    for (const auto &[session, taken] : std::as_const(deliveries)) {
        for (const qsizetype i : taken) {
            if (frames[i].isEmpty())
                frames[i] = protocol::JournalEventMessage { entries.at(i).event }.encode();
            session->sendEncoded(frames.at(i));
        }
    }
}

} // namespace wingman::journal

#include "TestSession.h"

#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"

#include <QTimer>

#include <algorithm>

namespace wingman::test {

namespace {

void decodeInto(const QByteArray &frame, QList<QCborMap> &out)
{
    const protocol::FrameDecodeResult decoded = protocol::Frame::decode(frame);
    if (!decoded.ok()) {
        // Kept so that a test sees something went on the wire that is not a message.
        out.append(QCborMap { { QStringLiteral("type"), QStringLiteral("<undecodable>") } });
        return;
    }
    if (decoded.type == QLatin1StringView("BATCH")) {
        const protocol::BatchDecodeResult batch = protocol::BatchContainer::decode(decoded.message);
        for (const QByteArray &inner : batch.messages)
            decodeInto(inner, out);
        return;
    }
    out.append(decoded.message);
}

} // namespace

TestSession::TestSession(quint64 id, QObject *parent)
    : network::Session(parent)
    , m_id(id)
{ }

void TestSession::setAuthenticated(const auth::Principal &principal)
{
    m_principal = principal;
    m_state = network::AuthState::Authenticated;
}

void TestSession::authenticate(const QString &userId, const QStringList &roles)
{
    setAuthenticated(auth::Principal { userId, roles });
}

void TestSession::clear()
{
    m_sent.clear();
    m_closes.clear();
}

QList<QCborMap> TestSession::messages() const
{
    QList<QCborMap> result;
    for (const Sent &sent : m_sent)
        decodeInto(sent.frame, result);
    return result;
}

QStringList TestSession::types() const
{
    QStringList result;
    for (const QCborMap &message : messages())
        result.append(message.value(QStringLiteral("type")).toString());
    return result;
}

QList<QCborMap> TestSession::messagesOfType(const QString &type) const
{
    QList<QCborMap> result;
    for (const QCborMap &message : messages()) {
        if (message.value(QStringLiteral("type")).toString() == type)
            result.append(message);
    }
    return result;
}

QList<std::optional<protocol::OpAckMessage>> TestSession::ackedBatches() const
{
    const QList<std::optional<protocol::OpAckMessage>> acks = typed<protocol::OpAckMessage>();
    QList<std::optional<protocol::OpAckMessage>> batches;
    for (qsizetype i = 0; i + 1 < acks.size(); i += 2) {
        const auto &first = acks.at(i);
        const auto &second = acks.at(i + 1);
        const bool shaped = first && second && first->results && second->results
            && first->lastId == second->lastId && first->achievedLevel == second->achievedLevel
            && second->results->size() == 1 && second->results->first().opId == first->lastId
            && std::none_of(first->results->cbegin(), first->results->cend(),
                [&first](const protocol::OpResult &r) { return r.opId == first->lastId; });
        if (!shaped) {
            batches.append(std::nullopt);
            continue;
        }
        protocol::OpAckMessage merged = *first;
        merged.results->append(second->results->first());
        batches.append(std::move(merged));
    }
    return batches;
}

QList<protocol::ErrorMessage> TestSession::errors() const
{
    QList<protocol::ErrorMessage> result;
    for (const auto &error : typed<protocol::ErrorMessage>()) {
        if (error)
            result.append(*error);
    }
    return result;
}

ScriptedStorage::ScriptedStorage(Mode mode, QObject *parent)
    : storage::Storage(parent)
    , m_mode(mode)
{ }

void ScriptedStorage::open()
{
    // Never synchronously, as the Storage contract asks.
    QTimer::singleShot(0, this, [this] {
        m_open = true;
        Q_EMIT opened();
    });
}

void ScriptedStorage::write(QList<storage::StorageWrite> writes, Done done)
{
    m_writes.append(std::move(writes));
    switch (m_mode) {
    case Mode::Immediate:
        if (done)
            done({});
        break;
    case Mode::Deferred:
        m_pending.append(std::move(done));
        break;
    case Mode::Fail:
        if (done)
            done(m_failure);
        break;
    }
}

void ScriptedStorage::release(const QString &error)
{
    const QList<Done> pending = std::exchange(m_pending, {});
    for (const Done &done : pending) {
        if (done)
            done(error);
    }
}

} // namespace wingman::test

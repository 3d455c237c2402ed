#pragma once

#include "network/Session.h"
#include "protocol/LifecycleMessages.h"
#include "protocol/WriteMessages.h"
#include "storage/Storage.h"

#include <QCborMap>
#include <QList>

#include <optional>

namespace wingman::test {

// A Session without a socket: records every frame and close, with a settable principal and auth
// state, so handlers can be driven directly and what they put on the wire asserted.
class TestSession : public network::Session
{
public:
    struct Sent {
        QByteArray frame;
        bool urgent = false;
    };
    struct Closed {
        protocol::CloseCode code;
        QString reason;
    };

    explicit TestSession(quint64 id = 1, QObject *parent = nullptr);

    quint64 id() const override { return m_id; }
    QString remoteAddress() const override { return QStringLiteral("192.0.2.1"); }
    network::AuthState authState() const override { return m_state; }
    const auth::Principal &principal() const override { return m_principal; }
    void sendEncoded(const QByteArray &frame) override { m_sent.append({ frame, false }); }
    void sendUrgentEncoded(const QByteArray &frame) override { m_sent.append({ frame, true }); }
    void close(protocol::CloseCode code, const QString &reason) override
    {
        m_closes.append({ code, reason });
    }
    void setAuthenticated(const auth::Principal &principal) override;
    void setAuthFailed() override { m_state = network::AuthState::Failed; }

    // Authenticated as userId with roles.
    void authenticate(const QString &userId = QStringLiteral("alice"),
        const QStringList &roles = { QStringLiteral("USER") });

    const QList<Sent> &sent() const { return m_sent; }
    const QList<Closed> &closes() const { return m_closes; }
    void clear();

    // Every message sent, decoded, with BATCH containers opened, in order.
    QList<QCborMap> messages() const;
    QStringList types() const;
    QList<QCborMap> messagesOfType(const QString &type) const;
    // Every message of Message's type, decoded as Message; a frame that does not decode fails
    // the check through a null optional in the list.
    template <typename Message> QList<std::optional<Message>> typed() const
    {
        QList<std::optional<Message>> result;
        const QString type = protocol::messageTypeName(Message::kType);
        for (const QCborMap &message : messagesOfType(type))
            result.append(Message::fromCbor(message, nullptr));
        return result;
    }
    QList<protocol::ErrorMessage> errors() const;
    // One entry per acknowledged batch: its pair of OP_ACKs (docs/protocol.md "Wingman's ack
    // rule") as one message, the first's with the results of both in the order sent; nullopt for
    // a pair not shaped as the rule says (one lastId A, the first without A, the second A alone).
    QList<std::optional<protocol::OpAckMessage>> ackedBatches() const;

private:
    quint64 m_id;
    network::AuthState m_state = network::AuthState::Pending;
    auth::Principal m_principal;
    QList<Sent> m_sent;
    QList<Closed> m_closes;
};

// Storage whose commits the test controls: at once (as MemoryStorage), held until release(), or
// failing. Records every write() it is given.
class ScriptedStorage : public storage::Storage
{
public:
    enum class Mode { Immediate, Deferred, Fail };

    explicit ScriptedStorage(Mode mode = Mode::Immediate, QObject *parent = nullptr);

    void open() override;
    void close() override { m_open = false; }
    bool isOpen() const override { return m_open; }
    bool isDurable() const override { return m_durable; }
    void write(QList<storage::StorageWrite> writes, Done done) override;
    QHash<QString, storage::StoredMap> loadAll() override { return {}; }
    QString loadMeta(const QString &) override { return {}; }
    void storeMeta(const QString &, const QString &) override { }

    void setMode(Mode mode) { m_mode = mode; }
    void setDurable(bool durable) { m_durable = durable; }
    void setFailure(const QString &error) { m_failure = error; }
    // Completes the held commits in order; error empty: committed.
    void release(const QString &error = {});
    qsizetype pending() const { return m_pending.size(); }
    const QList<QList<storage::StorageWrite>> &writes() const { return m_writes; }

private:
    Mode m_mode;
    bool m_open = false;
    bool m_durable = false;
    QString m_failure = QStringLiteral("disk full");
    QList<QList<storage::StorageWrite>> m_writes;
    QList<Done> m_pending;
};

} // namespace wingman::test

#include "TokenStore.h"
#include "SystemKeychain.h"

#include <QLoggingCategory>

namespace wingman::monitor {

namespace {
Q_LOGGING_CATEGORY(lcKeychain, "wingman.monitor.keychain")
}

QString TokenStore::key(const QString &host, quint16 port)
{
    return QStringLiteral("%1:%2").arg(host).arg(port);
}

TokenStore::TokenStore(QObject *parent)
    : TokenStore(std::make_unique<SystemKeychain>(defaultService()), parent)
{ }

TokenStore::TokenStore(std::unique_ptr<Keychain> keychain, QObject *parent)
    : QObject(parent)
    , m_keychain(std::move(keychain))
{ }

TokenStore::~TokenStore() = default;

void TokenStore::load(const QString &host, quint16 port)
{
    m_keychain->read(key(host, port), [this, host, port](const Keychain::Reply &reply) {
        if (reply.outcome == Keychain::Outcome::Unavailable)
            return reportUnavailable(host, port, reply.reason);
        Q_EMIT loaded(
            host, port, reply.outcome == Keychain::Outcome::Done ? reply.data : QByteArray());
    });
}

void TokenStore::store(const QString &host, quint16 port, const QByteArray &token)
{
    m_keychain->write(key(host, port), token, [this, host, port](const Keychain::Reply &reply) {
        if (reply.outcome != Keychain::Outcome::Done)
            return reportUnavailable(host, port, reply.reason);
        Q_EMIT stored(host, port);
    });
}

void TokenStore::forget(const QString &host, quint16 port)
{
    m_keychain->remove(key(host, port), [this, host, port](const Keychain::Reply &reply) {
        if (reply.outcome == Keychain::Outcome::Unavailable)
            return reportUnavailable(host, port, reply.reason);
        Q_EMIT forgotten(host, port);
    });
}

void TokenStore::reportUnavailable(const QString &host, quint16 port, const QString &reason)
{
    qCDebug(lcKeychain).noquote() << "no keychain for" << key(host, port) << "-" << reason;
    Q_EMIT unavailable(host, port, reason);
}

} // namespace wingman::monitor
